"""The wheel loader records through the generic recorder (``librobot data generate --env wheel_loader``)."""

import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

from librobot.sim import make_env  # noqa: E402
from librobot.sim.record import RecordJob, record_dataset  # noqa: E402
from librobot.sim.wheel_loader import WheelLoaderEnv  # noqa: E402


def test_make_env_builds_the_wheel_loader_with_kwargs():
    env = make_env("wheel_loader", render=False, max_steps=50)
    assert isinstance(env, WheelLoaderEnv) and env.max_steps == 50


def test_one_expert_episode_records_as_a_lerobot_dataset_with_both_cameras(tmp_path):
    result = record_dataset(
        tmp_path / "ds", [RecordJob("wheel_loader", {"image_size": 32})], episodes=1, seed=3, progress=False
    )
    assert result.episodes == 1 and 150 < result.frames < 400
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    assert info["robot_type"] == "wheel_loader"
    for cam in ("cab", "overview"):
        assert info["features"][f"observation.images.{cam}"]["shape"] == [32, 32, 3]
    assert len(info["features"]["observation.state"]["names"]) == 22
    assert info["features"]["action"]["names"] == ["throttle", "steering", "boom", "bucket", "brake", "gear"]
