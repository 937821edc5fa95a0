"""Simulated environments (registry category ``env``) and the recorder that turns them into datasets.

``make_env("metaworld", task="reach-v3")`` builds a registered env; the contract every env follows
is in docs/contracts.md. Env modules import mujoco / metaworld lazily inside functions.
"""

from __future__ import annotations

import os
from typing import Any


def make_env(name: str, **kwargs: Any) -> Any:
    """Build the env registered as ``name`` (or an alias) with ``kwargs``."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must precede the mujoco import
    from librobot.registry import get

    return get("env", name)(**kwargs)


def env_names() -> list[str]:
    from librobot.registry import REGISTRY

    return REGISTRY.names("env")
