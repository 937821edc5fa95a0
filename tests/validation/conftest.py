"""Fixtures for validation tests: a tiny robot and a clean tiny dataset of it."""

from __future__ import annotations

import pytest

from librobot.robots import RobotSpec  # noqa: E402
from tests.helpers.lerobot_fixture import FPS, write_dataset


@pytest.fixture(scope="session")
def tiny_robot() -> RobotSpec:
    return RobotSpec.from_dict(
        {
            "name": "tiny_arm",
            "fps": FPS,
            "state": [{"name": f"joint{i}", "unit": "rad", "low": -1.0, "high": 1.0} for i in range(3)],
            "action": [{"name": f"cmd{i}", "unit": "rad", "low": -2.0, "high": 2.0} for i in range(2)],
        }
    )


@pytest.fixture
def tiny_dataset(tmp_path, tiny_robot):
    return write_dataset(tmp_path / "ds", tiny_robot)
