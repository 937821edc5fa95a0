import numpy as np
import pytest

from librobot.robots import RobotSpec, load_robot

ROBOT_CONFIGS = "configs/robot"


def test_wheel_loader_spec_matches_the_machine():
    spec = load_robot("loader")
    assert spec.name == "wheel_loader"
    assert spec.action_names == ["throttle", "steering", "boom", "bucket", "brake", "gear"]
    assert spec.state_dim == 22
    assert spec.state_names[:6] == ["x", "y", "z", "roll", "pitch", "yaw"]
    assert spec.state_names[-4:] == ["engine_rpm", "engine_torque", "payload_mass", "wheel_speed"]
    assert spec.camera_names == ["cab", "overview"]


def test_so100_has_six_commands_and_twelve_states():
    spec = load_robot("so100")
    assert (spec.action_dim, spec.state_dim) == (6, 12)


def test_metaworld_sawyer_has_the_metaworld_spaces():
    spec = load_robot("sawyer")
    assert (spec.action_dim, spec.state_dim) == (4, 39)


@pytest.mark.parametrize("name", ["wheel_loader", "so100_arm", "metaworld_sawyer"])
def test_normalize_denormalize_round_trip(name):
    spec = load_robot(name)
    low, high = spec.bounds("action")
    rng = np.random.default_rng(0)
    values = rng.uniform(low, high, size=(5, spec.action_dim))
    normalized = spec.normalize(values, "action")
    assert np.all(normalized >= -1 - 1e-9) and np.all(normalized <= 1 + 1e-9)
    np.testing.assert_allclose(spec.denormalize(normalized, "action"), values, rtol=0, atol=1e-9)


def test_clip_keeps_actions_inside_bounds():
    spec = load_robot("wheel_loader")
    clipped = spec.clip(np.array([2.0, -3.0, 0.5, 9.0, -1.0, 0.2]), "action")
    np.testing.assert_array_equal(clipped, [1.0, -1.0, 0.5, 1.0, 0.0, 0.2])


def test_wrong_dimension_names_the_robot_and_expected_size():
    spec = load_robot("so100_arm")
    with pytest.raises(ValueError, match="state has 7 values; robot 'so100_arm' expects 12"):
        spec.normalize(np.zeros(7), "state")


def test_check_names_reports_missing_and_unexpected():
    spec = load_robot("wheel_loader")
    names = spec.action_names[:-1] + ["clutch"]
    with pytest.raises(ValueError, match=r"missing \['gear'\]; unexpected \['clutch'\]"):
        spec.check_names(names, "action")


def test_robot_defined_in_yaml_loads_without_code():
    spec = load_robot(f"{ROBOT_CONFIGS}/humanoid_template.yaml")
    assert spec.name == "humanoid_template"
    assert spec.state_dim == 16 and spec.action_dim == 15
    assert spec.camera_names == ["head"]
    low, high = spec.bounds("state")
    assert low[spec.state_names.index("l_knee")] == 0.0 and high[-1] == 2.0


def test_inline_robot_mapping_and_dict_round_trip():
    data = {
        "name": "gripper_1d",
        "fps": 20,
        "state": [{"name": "width", "unit": "m", "low": 0.0, "high": 0.08}, "force"],
        "action": [{"name": "width_cmd", "unit": "m", "low": 0.0, "high": 0.08}],
    }
    spec = load_robot(data)
    assert spec.state_names == ["width", "force"]
    assert np.isinf(spec.bounds("state")[1][1])
    again = RobotSpec.from_dict(spec.to_dict())
    assert again == spec


def test_robot_yaml_with_unknown_key_fails_loudly():
    with pytest.raises(ValueError, match="unknown keys"):
        RobotSpec.from_dict({"name": "x", "state": ["a"], "action": ["b"], "fsp": 10})
    with pytest.raises(ValueError, match="low 2.0 is above high 1.0"):
        RobotSpec.from_dict({"name": "x", "state": [{"name": "a", "low": 2, "high": 1}], "action": ["b"]})
