"""A tiny, real training set-up shared by the training and evaluation tests.

A LeRobot v3 dataset recorded by MetaWorld's scripted experts (two tasks, 32x32 camera, so the
bundle carries real simulator provenance) and experiment overrides that shrink the default
policy (real pretrained VLM, real head) to a few thousand trainable weights.
"""

from __future__ import annotations

from pathlib import Path

TASKS = ("reach-v3", "button-press-topdown-v3")
IMAGE_SIZE = 32
HORIZON = 4


def record_tiny_dataset(root: Path) -> Path:
    """Two expert episodes per task; recorded once per test session (cached on disk)."""
    from librobot.sim.record import RecordJob, record_dataset

    if (root / "meta" / "info.json").is_file():
        return root
    jobs = [RecordJob("metaworld", {"task": t, "image_size": IMAGE_SIZE}) for t in TASKS]
    record_dataset(root, jobs, episodes=2, seed=0, progress=False)
    return root


def tiny_overrides(dataset: Path, head: str = "flow_matching", **training) -> list[str]:
    settings = {
        "max_steps": 6,
        "batch_size": 8,
        "checkpoint_every": 3,
        "val_every": 3,
        "val_batches": 1,
        "log_every": 1,
        "tracking": "false",
        "progress": "false",
        "num_threads": 1,
        "scheduler.warmup_steps": 2,
        **training,
    }
    return [
        f"data.path={dataset}",
        "data.val_fraction=0.25",
        f"data.action_horizon={HORIZON}",
        f"model/action_head={head}",
        "model.vlm.hidden_dim=32",
        f"model.vlm.image_size={IMAGE_SIZE}",
        "model.vlm.image_grid=1",
        "model.encoder.hidden_dims=[32]",
        "model.action_head.hidden_dim=32",
        "model.action_head.num_layers=1",
        "model.action_head.num_heads=2",
        *(["model.action_head.num_inference_steps=2"] if head != "mlp_oft" else []),
        "eval.execute_steps=2",
        *(f"training.{k}={v}" for k, v in settings.items()),
    ]


def tiny_config(dataset: Path, *extra: str, head: str = "flow_matching", **training):
    from librobot.config import load_config

    return load_config("experiment/default", [*tiny_overrides(dataset, head, **training), *extra])


def worker_config(dataset: Path, tmp_path: Path) -> Path:
    """The tiny experiment tests/training/ddp_worker.py trains (3 steps, no EMA), saved for its processes."""
    from librobot.config import save_config

    cfg = tiny_config(dataset, max_steps=3, checkpoint_every=0, val_every=3, ema_decay="null")
    return save_config(cfg, tmp_path / "config.yaml")
