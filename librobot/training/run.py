"""``train(cfg, output_dir)``: dataset -> normalizer -> model -> Trainer -> policy bundle.

The output directory *is* the bundle (config.yaml, model.safetensors, normalization.json,
metadata.json); the run's own state lives under ``<output>/train/`` (checkpoints, MLflow store,
plots, log), so ``--resume`` finds it and the bundle can be rewritten around it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from librobot.bundle import save_bundle
from librobot.checkpoint import recover_atomic_dir
from librobot.choices import ActionRepresentation
from librobot.config import ExperimentConfig, validate
from librobot.data.dataset import ChunkedDataset, collate
from librobot.data.normalizer import Normalizer
from librobot.data.versioning import dataset_md5, tracked_root_md5
from librobot.logging import get_logger, setup_logging
from librobot.models import build_model
from librobot.models.action_tokenizers.fitting import prepare_action_tokenizer
from librobot.policy_spec import PolicySpec
from librobot.robots import load_robot
from librobot.robots.from_dataset import names_dataset_robot, robot_from_dataset
from librobot.seeding import seed_everything
from librobot.training.checkpointing import recover_checkpoints
from librobot.training.trainer import Trainer

log = get_logger("training")

TRAIN_DIR = "train"  # inside the bundle: checkpoints/, mlflow.db, plots/, train.log


def train(
    cfg: ExperimentConfig | DictConfig,
    output_dir: str | Path,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    normalizer: Normalizer | None = None,
) -> Path:
    """Train the experiment ``cfg`` and write its policy bundle to ``output_dir``; returns the bundle path.

    ``normalizer``: the stats a pipeline's normalize step computed (its names must be the dataset's);
    None computes them from the dataset.

    ``callbacks`` (librobot.training.callbacks.Callback) run beside the configured EMA and early stopping.
    """
    import torch

    cfg = validate(cfg)
    output_dir = Path(output_dir)
    work = output_dir / TRAIN_DIR
    if os.environ.get("RANK", "0") == "0":  # what an earlier, killed run left half written (one process cleans)
        recover_atomic_dir(output_dir, keep=(TRAIN_DIR,))
        recover_checkpoints(work)
    setup_logging(log_file=work / "train.log")
    if cfg.training.num_threads:
        torch.set_num_threads(int(cfg.training.num_threads))
    if not resume and (work / "checkpoints").is_dir() and any((work / "checkpoints").iterdir()):
        raise FileExistsError(
            f"{work / 'checkpoints'} already holds checkpoints: pass --resume to continue that run, "
            "or choose another --output"
        )

    train_set = ChunkedDataset.from_config(cfg.data, split="train")
    val_set = ChunkedDataset.from_config(cfg.data, split="val") if cfg.data.val_fraction > 0 else None
    if val_set is not None and len(val_set) == 0:
        val_set = None
    robot = robot_for(cfg, train_set)
    normalizer = checked_normalizer(normalizer, train_set) or train_set.normalizer(dict(cfg.data.normalization))
    image_shape = list(train_set[0]["images"].shape[1:]) if train_set.load_images else []

    seed_everything(cfg.seed, cfg.deterministic)  # model init depends on the seed alone
    model = build_model(
        cfg.model,
        state_dim=robot.state_dim,
        action_dim=robot.action_dim,
        action_horizon=cfg.data.action_horizon,
        obs_horizon=cfg.data.obs_horizon,
        num_cameras=max(1, len(train_set.cameras)),
    )
    trainer = Trainer(
        model,
        train_set,
        cfg.training,
        work,
        seed=cfg.seed,
        deterministic=cfg.deterministic,
        val_dataset=val_set,
        collate_fn=collate,
        batch_transform=normalizer.normalize_batch,
        num_workers=cfg.data.num_workers,
        run_config=cfg,
        run_name=str(cfg.name),
        callbacks=callbacks,
    )
    action_tokenizer = prepare_action_tokenizer(model, cfg.data, normalizer, work, resume)  # heads reading tokens
    log.info(
        "training %s: %d train / %d val samples, %s trainable parameters",
        cfg.name,
        len(train_set),
        len(val_set) if val_set is not None else 0,
        f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}",
    )
    started = time.perf_counter()
    result = trainer.fit(resume=resume)
    wall = time.perf_counter() - started
    if not trainer.is_main_process:
        return output_dir

    recorded = train_set.reader.feature_names(train_set.state_key)
    source = [recorded[i] for i in train_set.state_selection.index]
    selected = source != recorded or train_set.state_names != recorded  # selected or renamed: eval picks it
    spec = PolicySpec(
        robot=robot,
        normalizer=normalizer,
        cameras=tuple(train_set.cameras),
        image_shape=tuple(image_shape),
        action_horizon=int(cfg.data.action_horizon),
        obs_horizon=int(cfg.data.obs_horizon),
        action_representation=ActionRepresentation.parse(cfg.data.action_representation, "data.action_representation"),
        state_source=tuple(source) if selected else None,
    )
    normalization = spec.to_dict()
    metrics = dict(result.metrics)
    metrics["wall_time_s"] = round(wall, 2)
    metrics["num_processes"] = trainer.accelerator.num_processes
    metadata = {
        "dataset": dataset_identity(cfg.data.path),
        "train_metrics": metrics,
        "eval_metrics": {},
        **env_provenance(train_set),
        "mlflow": {"run_id": result.mlflow_run_id, "tracking_uri": getattr(trainer.tracker, "tracking_uri", None)},
    }
    save_bundle(
        output_dir,
        cfg,
        trainer.final_state_dict(),
        normalization,
        metadata,
        keep=(TRAIN_DIR,),
        action_tokenizer=action_tokenizer,
    )
    log.info("policy bundle written to %s (%d steps, %.0f s)", output_dir, result.step, wall)
    return output_dir


def checked_normalizer(normalizer: Normalizer | None, dataset: Any) -> Normalizer | None:
    """``normalizer`` when it describes ``dataset``'s state and action vectors (same names, in order)."""
    if normalizer is None:
        return None
    expected = {dataset.state_key: list(dataset.state_names), dataset.action_key: list(dataset.action_names)}
    for feature, names in expected.items():
        if feature in normalizer.features and normalizer.names(feature) != names:
            raise ValueError(
                f"the given normalizer's {feature!r} names {normalizer.names(feature)} are not the dataset's {names}: "
                "it was computed for other features (data.state_features / data.action_features)"
            )
    return normalizer


def robot_for(cfg: ExperimentConfig, dataset: Any):
    """The config's robot (or, for ``robot=dataset``, the dataset's own), checked against the dataset's names."""
    if names_dataset_robot(cfg.robot):
        return robot_from_dataset(
            dataset.reader,
            dataset.state_key,
            dataset.action_key,
            dataset.cameras,
            dataset.state_selection,
            dataset.action_selection,
        )
    robot = load_robot(cfg.robot)
    try:
        robot.check_names(dataset.state_names, "state")
        robot.check_names(dataset.action_names, "action")
    except ValueError as err:
        raise ValueError(f"robot {robot.name!r} (cfg.robot) does not match dataset {cfg.data.path}: {err}") from None
    return robot


def dataset_identity(path: str | Path) -> dict[str, Any]:
    """Where the data came from: its path, its md5 (DVC's directory hash) and the tracking .dvc entry."""
    out: dict[str, Any] = {"path": str(path), "md5": dataset_md5(path)}
    tracked = tracked_root_md5(path)
    if tracked is not None:
        out["dvc"] = {"path": tracked[0], "md5": tracked[1]}
    return out


def env_provenance(dataset: Any) -> dict[str, Any]:
    """The simulator that recorded the dataset (info.json's ``librobot`` entry), for closed-loop eval."""
    prov = dict(dataset.reader.librobot or {})
    jobs = [{"name": j["env"], "kwargs": dict(j.get("env_kwargs") or {})} for j in prov.get("envs", [])]
    if not jobs and prov.get("env"):
        jobs = [{"name": prov["env"], "kwargs": dict(prov.get("env_kwargs") or {})}]
    if not jobs:
        return {"env": None, "env_jobs": [], "tasks": []}
    shared = {k: v for k, v in jobs[0]["kwargs"].items() if k != "task"}
    tasks = [j["kwargs"]["task"] for j in jobs if "task" in j["kwargs"]]
    return {"env": {"name": jobs[0]["name"], "kwargs": shared}, "env_jobs": jobs, "tasks": tasks}
