"""data.state_features / data.action_features: keep, reorder and rename dimensions, everywhere alike."""

from __future__ import annotations

import numpy as np
import pytest

from librobot.data.dataset import ChunkedDataset
from librobot.data.feature_selection import select_features
from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.robots import RobotSpec
from librobot.robots.from_dataset import robot_from_dataset
from librobot.validation import validate_dataset
from tests.helpers.data_fixtures import LENGTHS, episode_arrays


def test_a_list_keeps_and_orders_and_a_mapping_renames():
    assert select_features(["x", "y", "grip"], None, "f").index == (0, 1, 2)
    kept = select_features(["x", "y", "grip"], ["grip", "x"], "f")
    assert kept.names == ("grip", "x") and kept.index == (2, 0)
    np.testing.assert_array_equal(kept.take(np.array([[1.0, 2.0, 3.0]])), [[3.0, 1.0]])
    renamed = select_features(["x", "y", "grip"], {"gripper.pos": "grip", "x.pos": "x"}, "f")
    assert renamed.names == ("gripper.pos", "x.pos") and renamed.index == (2, 0)


def test_a_name_the_dataset_lacks_fails_with_both_sides():
    with pytest.raises(ValueError) as err:
        select_features(["x", "y", "grip"], {"gripper.pos": "gripper"}, "data.state_features")
    message = str(err.value)
    assert "data.state_features asks for ['gripper']" in message and "the dataset has ['x', 'y', 'grip']" in message


def test_the_dataset_samples_and_stats_follow_the_selection(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset, action_horizon=2, state_features=["grip", "x"], action_features={"move_y": "dy"})
    assert ds.state_names == ["grip", "x"] and ds.action_names == ["move_y"]
    first = episode_arrays(0, LENGTHS[0])
    sample = ds[0]
    np.testing.assert_allclose(sample["state"][0].numpy(), first["observation.state"][0, [2, 0]], rtol=1e-6)
    np.testing.assert_allclose(sample["actions"][:, 0].numpy(), first["action"][:2, 1], rtol=1e-6)
    full = LeRobotV3Reader(tiny_dataset).stats
    stats = ds.stats()
    np.testing.assert_array_equal(stats["observation.state"]["mean"], full["observation.state"]["mean"][[2, 0]])
    np.testing.assert_array_equal(stats["action"]["q99"], full["action"]["q99"][[1]])
    normalizer = ds.normalizer({"observation.state": "MEAN_STD", "action": "QUANTILES"})
    assert normalizer.names("observation.state") == ["grip", "x"]


def test_validation_and_the_dataset_robot_see_the_selected_dimensions(tiny_dataset):
    robot = RobotSpec.from_dict(
        {"name": "two_of_three", "state": ["gripper", "x"], "action": [{"name": "dy", "low": -100, "high": 100}]}
    )
    selected = {"state_features": {"gripper": "grip", "x": "x"}, "action_features": ["dy"]}
    assert validate_dataset(tiny_dataset, robot, **selected).success
    unselected = validate_dataset(tiny_dataset, robot)
    assert not unselected.success and any("has 2 values" in str(f) for f in unselected.failures)
    reader = LeRobotV3Reader(tiny_dataset)
    derived = robot_from_dataset(
        reader,
        state_selection=select_features(reader.feature_names("observation.state"), ["grip"], "s"),
        action_selection=select_features(reader.feature_names("action"), ["dy"], "a"),
    )
    assert derived.state_names == ["grip"] and derived.action_names == ["dy"]
    assert derived.bounds("action")[0][0] == reader.stats["action"]["min"][1]


def test_the_pipelines_validate_with_the_experiments_selection(tiny_dataset):
    from librobot.config import validate
    from librobot.validation import validate_for_experiment

    robot = {"name": "two_of_three", "state": ["gripper", "x"], "action": ["dx", "dy"]}
    cfg = validate({"robot": robot, "data": {"state_features": {"gripper": "grip", "x": "x"}}})
    assert validate_for_experiment(tiny_dataset, cfg).success
    cfg.data.state_features = None
    assert not validate_for_experiment(tiny_dataset, cfg).success  # 3 recorded values against 2
