"""Tiny LeRobot v3 datasets written by ``LeRobotV3Writer`` (no cameras: validation reads frames and episode metadata)."""

from __future__ import annotations

import numpy as np

from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec
from librobot.robots import RobotSpec

FPS = 10.0


def write_dataset(root, robot: RobotSpec, episodes: int = 3, length: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = {
        "observation.state": feature_spec(robot.state_names),
        "action": feature_spec(robot.action_names),
    }
    with LeRobotV3Writer(root, fps=FPS, features=features, robot_type=robot.name) as writer:
        for _ in range(episodes):
            writer.add_episode(
                "reach the goal",
                {
                    "observation.state": rng.uniform(-0.9, 0.9, (length, robot.state_dim)),
                    "action": rng.uniform(-1.9, 1.9, (length, robot.action_dim)),
                },
            )
    return root
