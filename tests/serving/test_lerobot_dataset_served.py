"""A dataset written by LeRobot's own writer, end to end: ``librobot train ... robot=dataset`` -> a bundle
carrying the robot derived from the dataset -> ONNX -> ``librobot package`` -> a real ``bentoml serve``
on loopback, whose /act answers in the dataset's own units, clipped to the demonstrated range."""

from __future__ import annotations

import json
import subprocess

import httpx
import numpy as np
import pytest

from librobot.inference.policy import Policy
from tests.fixtures.lerobot_written.lerobot_values import MOTORS, frames, vectors
from tests.helpers.serving import BIN, REPO, encode, serve

FIXTURES = REPO / "tests" / "fixtures" / "lerobot_written"

# a policy small enough to train 3 steps in seconds (the shape of tests/helpers/tiny_run.py's)
TINY = [
    "data.val_fraction=0",
    "data.action_horizon=4",
    "model.vlm.hidden_dim=32",
    "model.vlm.image_size=32",
    "model.vlm.image_grid=1",
    "model.encoder.hidden_dims=[32]",
    "model.action_head.hidden_dim=32",
    "model.action_head.num_layers=1",
    "model.action_head.num_heads=2",
    "model.action_head.num_inference_steps=2",
    "training.max_steps=3",
    "training.batch_size=4",
    "training.checkpoint_every=3",
    "training.tracking=false",
    "training.progress=false",
    "training.num_threads=1",
    "training.scheduler.warmup_steps=1",
]


def run(args: list[str], env: dict | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.mark.slow
def test_a_lerobot_dataset_trains_with_robot_dataset_exports_and_is_served(tmp_path, bentoml_env):
    bundle = tmp_path / "bundle"
    train = [str(BIN / "librobot"), "train", "--config", "experiment/default", "--output", str(bundle)]
    run([*train, f"data.path={FIXTURES / 'single_camera'}", "robot=dataset", *TINY])
    normalization = json.loads((bundle / "normalization.json").read_text())
    robot = normalization["robot"]
    assert robot["name"] == "so100_follower" and normalization["cameras"] == ["image"]
    assert [f["name"] for f in robot["state"]] == [f"observation.state.{i}" for i in range(len(MOTORS))]

    run([str(BIN / "librobot"), "export", "--policy", str(bundle)])
    tag = run([str(BIN / "librobot"), "package", "--policy", str(bundle)], env=bentoml_env)
    state, _ = vectors(0, 1)
    obs = {"images": {"image": frames(0, 0, 1)[0]}, "state": state[0], "instruction": "reach the red goal"}
    with serve(tag, bentoml_env, tmp_path) as url:
        resp = httpx.post(f"{url}/act", json={"observations": [encode(obs, seed=3)]}, timeout=120)
        assert resp.status_code == 200, resp.text
        wrong = httpx.post(f"{url}/act", json={"observations": [encode({**obs, "state": state[0][:4]})]}, timeout=60)
        assert wrong.status_code == 400 and "observation.state has 4 values" in wrong.text
    chunk = np.array(resp.json()[0]["actions"])
    low, high = (np.array([f[k] for f in robot["action"]]) for k in ("low", "high"))
    assert chunk.shape == (4, len(MOTORS)) and np.isfinite(chunk).all()
    assert (chunk >= low - 1e-6).all() and (chunk <= high + 1e-6).all()  # clipped to the demonstrated range
    local = Policy.from_bundle(bundle, runtime="onnx", threads=1).act(obs, seed=3)
    np.testing.assert_allclose(chunk, local, atol=1e-5)  # the same normalization, in and out
