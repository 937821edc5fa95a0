"""The wheel loader runs the whole spine: record -> train (wheel_loader_groot) -> closed-loop eval -> report.

Everything is shrunk (two 40-step episodes at 32 px, a few optimizer steps, a tiny head), so this
checks the wiring and the report's contents, not the policy's quality.
"""

import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import pytest  # noqa: E402

from librobot.cli import main  # noqa: E402

TINY_MODEL = [
    "model.vlm.hidden_dim=32",
    "model.vlm.image_size=32",
    "model.vlm.image_grid=1",
    "model.encoder.hidden_dims=[32]",
    "model.action_head.hidden_dim=32",
    "model.action_head.num_layers=1",
    "model.action_head.num_heads=2",
    "model.action_head.num_inference_steps=2",
    "data.action_horizon=4",
    "data.val_fraction=0.5",
    "data.cache_mb=64",
    "training.max_steps=3",
    "training.batch_size=8",
    "training.val_every=0",
    "training.checkpoint_every=0",
    "training.tracking=false",
    "training.progress=false",
    "training.num_threads=1",
    "training.scheduler.warmup_steps=1",
]


@pytest.fixture(scope="module")
def tiny_wheel_loader_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("wl") / "ds"
    kwargs = json.dumps({"image_size": 32, "max_steps": 40})
    # 40 steps is too short for a full load: keep the (failed) episodes, they are real expert data
    argv = ["data", "generate", "--env", "wheel_loader", "--episodes", "2", "--out", str(out)]
    noise = ["--action-noise", "steering=0.5,boom=0.3", "--noise-correlation", "0.8"]  # as the default dataset
    assert main([*argv, "--env-kwargs", kwargs, "--keep-failed", "--seed", "7", *noise]) == 0
    return out


def test_generate_train_eval_writes_a_report_with_success_and_delivered_kg(tiny_wheel_loader_dataset, tmp_path):
    info = json.loads((tiny_wheel_loader_dataset / "meta" / "info.json").read_text())
    assert info["robot_type"] == "wheel_loader" and info["total_episodes"] == 2
    assert {"observation.images.cab", "observation.images.overview", "phase"} <= set(info["features"])
    assert info["librobot"]["action_noise"]["sigma"] == {"steering": 0.5, "boom": 0.3}

    bundle, report_dir = tmp_path / "bundle", tmp_path / "eval"
    train_argv = ["train", "--config", "experiment/wheel_loader_groot", "--output", str(bundle)]
    assert main([*train_argv, f"data.path={tiny_wheel_loader_dataset}", *TINY_MODEL]) == 0
    normalization = json.loads((bundle / "normalization.json").read_text())
    assert normalization["robot"]["name"] == "wheel_loader" and normalization["cameras"] == ["cab", "overview"]

    eval_argv = ["eval", "--policy", str(bundle), "--output", str(report_dir), "--episodes", "1"]
    assert main([*eval_argv, "--execute-steps", "2", "--max-steps", "20", "--videos", "1", "--no-offline"]) == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert report["env"] == "wheel_loader" and report["episodes"] == 1
    task = report["per_task"]["wheel_loader_truck_loading"]
    assert task["success_rate"] == 0.0  # 20 steps cannot load 2.4 t
    episode = task["episodes_detail"][0]
    assert episode["length"] == 20 and episode["delivered_kg"] == 0.0
    assert {"delivered_kg", "spilled_kg", "payload_kg"} <= set(episode) and "mean_delivered_kg" in task
    assert len(task["videos"]) == 1 and (report_dir / task["videos"][0]).stat().st_size > 0
