"""Simulated environments (registry category ``env``) and the recorder that turns them into datasets.

``make_env("metaworld", task="reach-v3")`` builds a registered env; the contract every env follows
is in docs/contracts.md. Env modules import mujoco / metaworld lazily inside functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from librobot.registry import REGISTRY, get
from librobot.robots import RobotSpec


class Env(Protocol):
    """What every registered simulator offers (docs/contracts.md): rollouts, recording and evaluation use this."""

    robot: RobotSpec  # state, action and cameras, in the order the env reads and returns them
    task: str
    camera_names: list[str]
    max_steps: int

    def reset(self, seed: int) -> dict[str, Any]:
        """The first observation: {"images": {camera: uint8 [H, W, 3]}, "state": float [Ds], "instruction"}."""
        ...

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """(observation, reward, terminated, truncated, info with "success")."""
        ...

    def expert(self) -> Callable[[dict[str, Any]], np.ndarray]:
        """The scripted expert: observation -> action (what `librobot data generate` records)."""
        ...

    def close(self) -> None: ...


def make_env(name: str, **kwargs: Any) -> Env:
    """Build the env registered as ``name`` (or an alias) with ``kwargs``."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must precede the mujoco import

    return get("env", name)(**kwargs)


def env_names() -> list[str]:
    return REGISTRY.names("env")
