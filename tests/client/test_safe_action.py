"""The safe action a robot client sends when no action comes in time, from the robot spec."""

import numpy as np
import pytest

from librobot.robots import RobotSpec, SafeMode, load_robot
from librobot.robots.safe_action import with_known_safe_action


def test_wheel_loader_brakes_in_neutral_with_everything_stopped():
    spec = load_robot("wheel_loader")
    action = spec.safe_action(np.full(spec.state_dim, 3.0), last_action=np.ones(6))
    np.testing.assert_array_equal(action, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0])  # throttle 0, full brake, gear 0


def test_so100_arm_holds_its_current_pose():
    spec = load_robot("so100")
    state = np.arange(12, dtype=float) * 10 - 20  # positions first, then velocities
    np.testing.assert_array_equal(spec.safe_action(state), [-20, -10, 0, 10, 20, 30])
    history = np.stack([state - 5, state])  # [T, Ds]: the latest step is the pose
    np.testing.assert_array_equal(spec.safe_action(history), [-20, -10, 0, 10, 20, 30])
    np.testing.assert_array_equal(spec.safe_action(np.full(12, 500.0)), [110, 100, 100, 100, 160, 100])  # clipped


def test_sawyer_stops_the_hand_and_keeps_its_grip():
    spec = load_robot("metaworld_sawyer")
    state = np.zeros(spec.state_dim)
    np.testing.assert_array_equal(spec.safe_action(state, last_action=np.array([0.3, -0.2, 0.1, 0.8])), [0, 0, 0, 0.8])
    np.testing.assert_array_equal(spec.safe_action(state), [0, 0, 0, 0])  # before any action: 0


def test_defaults_hold_a_same_named_state_else_repeat_the_last_action():
    spec = RobotSpec.from_dict(
        {"name": "mixed", "state": ["joint", "speed"], "action": [{"name": "joint", "low": -1, "high": 1}, "torque"]}
    )
    assert spec.safe_modes() == [SafeMode.HOLD, SafeMode.LAST]
    np.testing.assert_array_equal(spec.safe_action(np.array([0.5, 9.0]), np.array([0.0, 2.5])), [0.5, 2.5])


def test_safe_values_survive_the_bundle_round_trip_and_old_bundles_get_the_known_robots():
    spec = load_robot("loader")
    data = spec.to_dict()
    assert [f["safe"] for f in data["action"]] == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert RobotSpec.from_dict(data) == spec
    for feature in data["action"]:  # a bundle written before specs had safe values
        del feature["safe"]
    old = RobotSpec.from_dict(data)
    assert old.safe_modes() == [SafeMode.LAST] * 6  # the generic default would keep the throttle open
    assert with_known_safe_action(old).safe_modes() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    unknown = RobotSpec.from_dict({**data, "name": "my_loader"})
    assert with_known_safe_action(unknown) is unknown


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"name": "throttle", "low": 0, "high": 1, "safe": 2.0},
            "feature 'throttle': safe value 2.0 is outside its bounds",
        ),
        ({"name": "throttle", "safe": "brake"}, r"safe is 'brake'; expected a number or one of \['hold', 'last'\]"),
        (
            {"name": "throttle", "safe": "hold"},
            "action 'throttle' is safe: hold, but the state has no feature 'throttle'",
        ),
    ],
)
def test_a_bad_safe_value_is_refused_naming_the_feature(action, message):
    with pytest.raises(ValueError, match=message):
        RobotSpec.from_dict({"name": "bad", "state": ["speed"], "action": [action]})


def test_every_robot_config_has_a_valid_safe_action():
    from pathlib import Path

    from omegaconf import OmegaConf

    for path in sorted(Path(__file__).resolve().parents[2].glob("configs/robot/*.yaml")):
        if path.stem == "dataset":  # derived from a dataset at training time
            continue
        spec = load_robot(OmegaConf.load(path))  # a name of a robot defined in code, or one defined inline
        action = spec.safe_action(np.zeros(spec.state_dim))
        low, high = spec.bounds("action")
        assert action.shape == (spec.action_dim,) and np.all((low <= action) & (action <= high)), path.name
