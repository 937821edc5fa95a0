"""Camera + proprioception only: record -> train -> export -> serve -> evaluate, with the MetaWorld state
cut to the hand and gripper by data.state_features; evaluation picks the same features out of the env."""

from __future__ import annotations

import json

import numpy as np
import pytest

from librobot.evaluation.rollout import RobotMismatchError, check_robot_matches
from librobot.evaluation.run import evaluate
from librobot.inference.policy import Policy
from librobot.robots import load_robot
from tests.helpers.tiny_run import tiny_config

PROPRIO = ["hand_x", "hand_y", "hand_z", "gripper_distance"]
PREV = [f"prev_{n}" for n in PROPRIO]


@pytest.mark.slow
def test_a_proprio_only_policy_trains_exports_serves_and_evaluates(tiny_dataset, tmp_path):
    from librobot.inference.onnx_export import export_policy
    from librobot.training.run import train

    cfg = tiny_config(
        tiny_dataset,
        "robot=metaworld_sawyer_proprio",
        f"data.state_features=[{','.join(PROPRIO + PREV)}]",
        max_steps=2,
        val_every=0,
        checkpoint_every=0,
    )
    bundle = train(cfg, tmp_path / "bundle")
    normalization = json.loads((bundle / "normalization.json").read_text())
    assert normalization["robot"]["name"] == "metaworld_sawyer_proprio"
    assert normalization["state_source"] == PROPRIO + PREV
    assert normalization["normalizer"]["observation.state"]["names"] == PROPRIO + PREV

    assert export_policy(bundle)["fp32"]["passed"]
    served = Policy.from_bundle(bundle, runtime="onnx", threads=1)
    obs = {"images": {"corner": np.zeros((32, 32, 3), np.uint8)}, "state": np.zeros(8), "instruction": "reach"}
    assert served.act(obs, seed=0).shape == (4, 4)
    with pytest.raises(ValueError, match="observation.state has 39 values"):
        served.act({**obs, "state": np.zeros(39)})  # the full simulator state is not what it was trained on

    report = evaluate(bundle, tmp_path / "eval", episodes=1, tasks=["reach-v3"], overrides={"max_steps": 6})
    assert report["episodes"] == 1 and list(report["per_task"]) == ["reach-v3"]


def test_the_env_state_is_selected_by_the_bundles_state_source():
    env_robot = load_robot("metaworld_sawyer")
    proprio = load_robot("configs/robot/metaworld_sawyer_proprio.yaml")
    index = check_robot_matches(proprio, env_robot, "metaworld", state_source=PROPRIO + PREV)
    assert [env_robot.state_names[i] for i in index] == PROPRIO + PREV
    with pytest.raises(RobotMismatchError, match=r"env 'metaworld' has no \['hand_w'\]"):
        check_robot_matches(proprio, env_robot, "metaworld", state_source=[*PROPRIO[:3], "hand_w", *PREV])
    with pytest.raises(RobotMismatchError, match="state features differ"):
        check_robot_matches(proprio, env_robot, "metaworld")  # without the selection: another robot
