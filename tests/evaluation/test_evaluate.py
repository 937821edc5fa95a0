"""Contracts of evaluation: a report with success per task, and refusal of a bundle for another robot."""

from __future__ import annotations

import json
import shutil

import pytest

from librobot.bundle import CONFIG_FILE, NORMALIZATION_FILE, REQUIRED_FILES
from librobot.cli import main
from librobot.data.video import video_info
from librobot.evaluation.rollout import RobotMismatchError, check_robot_matches
from librobot.evaluation.run import evaluate
from librobot.evaluation.stats import wilson_interval
from librobot.robots import load_robot
from tests.helpers.tiny_run import TASKS


def test_eval_cli_writes_report_with_success_per_task(tiny_bundle, tmp_path):
    out = tmp_path / "eval"
    rc = main(["eval", "--policy", str(tiny_bundle), "--episodes", "2", "--max-steps", "12", "--output", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["per_task"]) == set(TASKS)
    assert report["episodes"] == 2 * len(TASKS)
    assert 0.0 <= report["success_rate"] <= 1.0
    lo, hi = report["success_ci95"]
    assert lo <= report["success_rate"] <= hi
    for task, r in report["per_task"].items():
        assert r["episodes"] == 2 and r["seeds"] == [1000, 1001]
        assert r["success_rate"] == sum(e["success"] for e in r["episodes_detail"]) / 2
        assert all(1 <= e["length"] <= 12 for e in r["episodes_detail"])
        assert r["ci95"][0] <= r["success_rate"] <= r["ci95"][1]
        (video,) = r["videos"]  # videos_per_task=1
        info = video_info(out / video)
        assert info["codec"] == "h264" and info["frames"] == r["episodes_detail"][0]["length"] + 1, task
    # offline: per-dimension error in robot units on the held-out episodes
    offline = report["offline"]
    assert list(offline["l1_per_dim"]) == load_robot("metaworld_sawyer").action_names
    assert offline["samples"] > 0 and offline["l1"] >= 0
    assert (out / "report.md").read_text().count("|") > 10
    assert all((out / p).is_file() for p in report["plots"].values())
    # the bundle records its evaluation
    meta = json.loads((tiny_bundle / "metadata.json").read_text())
    assert set(meta["eval_metrics"]["per_task"]) == set(TASKS)


def test_eval_refuses_bundle_trained_for_another_robot(tiny_bundle, tmp_path):
    other = tmp_path / "so100_bundle"
    other.mkdir()
    for name in REQUIRED_FILES:
        shutil.copy(tiny_bundle / name, other / name)
    norm = json.loads((other / NORMALIZATION_FILE).read_text())
    so100 = load_robot("so100_arm")
    norm["robot"] = so100.to_dict()
    # a consistent so100 bundle (its normalizer carries so100's features), or loading it already refuses it
    for feature, names in (("observation.state", so100.state_names), ("action", so100.action_names)):
        n = len(names)
        stats = {"mean": [0.0] * n, "std": [1.0] * n, "min": [-1.0] * n, "max": [1.0] * n}
        norm["normalizer"][feature].update(names=names, stats={**stats, "q01": [-1.0] * n, "q99": [1.0] * n})
    (other / NORMALIZATION_FILE).write_text(json.dumps(norm))
    config = (other / CONFIG_FILE).read_text().replace("name: metaworld_sawyer", "name: so100_arm")
    (other / CONFIG_FILE).write_text(config)
    with pytest.raises(RobotMismatchError, match=r"'so100_arm' \(normalization.json\) does not match env 'metaworld'"):
        evaluate(other, tmp_path / "eval", episodes=1, tasks=["reach-v3"], record_in_bundle=False)
    assert not (tmp_path / "eval" / "report.json").exists()


def test_robot_check_names_reordered_features():
    robot = load_robot("metaworld_sawyer")
    data = robot.to_dict()
    data["action"] = data["action"][::-1]
    swapped = type(robot).from_dict(data)
    with pytest.raises(RobotMismatchError, match="action features differ.*another order"):
        check_robot_matches(swapped, robot, "metaworld")
    check_robot_matches(robot, robot, "metaworld")


def test_wilson_interval_matches_reference_values():
    # reference values of the Wilson score interval at z = 1.96
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
