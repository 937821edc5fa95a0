"""The wheel loader env's spaces, observation layout and bad-input handling (the env contract)."""

import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from librobot.registry import REGISTRY  # noqa: E402
from librobot.robots import load_robot  # noqa: E402
from librobot.sim.wheel_loader import TARGET_NAMES, WheelLoaderEnv  # noqa: E402


@pytest.fixture(scope="module")
def env():
    env = WheelLoaderEnv(image_size=32)
    yield env
    env.close()


def test_spaces_equal_the_robot_spec(env):
    spec = load_robot("wheel_loader")
    assert env.robot.state == spec.state  # names, order, units and bounds
    assert env.robot.action == spec.action
    assert env.robot.fps == spec.fps
    assert env.camera_names == spec.camera_names == ["cab", "overview"]
    assert env.robot.action_names == ["throttle", "steering", "boom", "bucket", "brake", "gear"]


def test_env_is_registered_by_name():
    assert REGISTRY.get("env", "wheel_loader") is WheelLoaderEnv
    assert REGISTRY.canonical_name("env", "loader") == "wheel_loader"


def test_observation_layout(env):
    obs = env.reset(seed=0)
    assert env.instruction == obs["instruction"] == "load gravel from the pile into the truck"
    assert env.max_steps == 400
    assert obs["state"].dtype == np.float64 and obs["state"].shape == (22,)
    assert set(obs["images"]) == {"cab", "overview"}
    for image in obs["images"].values():
        assert image.dtype == np.uint8 and image.shape == (32, 32, 3)
    assert "targets" not in obs
    low, high = env.robot.bounds("state")
    assert np.all(obs["state"] >= low) and np.all(obs["state"] <= high)
    _, _, _, _, info = env.step(np.zeros(6))
    assert set(info) >= {"success", "delivered_kg", "spilled_kg", "payload_kg", "phase", "clipped"}


def test_image_size_is_configurable_and_cameras_selectable():
    env = WheelLoaderEnv(image_size=48, cameras=["overview"])
    obs = env.reset(seed=1)
    assert list(obs["images"]) == ["overview"] and obs["images"]["overview"].shape == (48, 48, 3)
    assert env.robot.camera_names == ["overview"] and env.robot.cameras[0].height == 48
    env.close()
    with pytest.raises(ValueError, match="roof"):
        WheelLoaderEnv(cameras=["roof"])


def test_physics_only_env_renders_nothing():
    env = WheelLoaderEnv(render=False)
    obs = env.reset(seed=0)
    assert obs["images"] == {} and env.camera_names == []
    env.close()


def test_targets_observation_matches_the_layout():
    env = WheelLoaderEnv(render=False, include_targets=True)
    obs = env.reset(seed=5)
    lay = env.layout
    assert env.target_names == list(TARGET_NAMES)
    np.testing.assert_array_equal(
        obs["targets"],
        [lay.pile_x, lay.pile_y, lay.pile_radius, lay.pile_height, lay.truck_x, lay.truck_y, lay.truck_yaw],
    )


def test_cab_camera_is_right_way_up(env):
    obs = env.reset(seed=0)
    cab = obs["images"]["cab"].astype(float)
    top, bottom = cab[:4].mean(axis=(0, 1)), cab[-4:].mean(axis=(0, 1))
    # sky (light blue-white) at the top; machine and ground below it
    assert top[2] > 180 and top.mean() > bottom.mean()


def test_out_of_bounds_actions_are_clipped_and_counted(env):
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([2.0, -3.0, 0.0, 0.5, 1.0, 7.0]))
    assert info["clipped"] == 3
    _, _, _, _, info = env.step(np.array([0.5, 0.0, 0.0, 0.0, 0.0, 1.0]))
    assert info["clipped"] == 0


def test_nan_action_raises_naming_the_dims(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"NaN in \['boom', 'gear'\]"):
        env.step(np.array([0.0, 0.0, np.nan, 0.0, 0.0, np.nan]))


def test_wrong_action_size_is_refused(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action has 4 values"):
        env.step(np.zeros(4))


def test_step_before_reset_is_refused():
    env = WheelLoaderEnv(render=False)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(6))


def test_importing_the_env_package_does_not_import_mujoco():
    code = "import sys, librobot.sim.wheel_loader; print('mujoco' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
