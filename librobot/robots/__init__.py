"""Robots: ``RobotSpec`` plus the robots LibroBot knows by name.

``load_robot`` takes a registered name or alias (``"loader"``), a path to a YAML spec, or a
config mapping that either names a registered robot or defines one inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from librobot.registry import REGISTRY
from librobot.robots.spec import Camera, Feature, RobotSpec, SafeMode

__all__ = ["Camera", "Feature", "RobotSpec", "SafeMode", "load_robot"]


def load_robot(source: str | Path | Mapping[str, Any] | RobotSpec) -> RobotSpec:
    if isinstance(source, RobotSpec):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith((".yaml", ".yml"))):
        return RobotSpec.from_yaml(source)
    if isinstance(source, str):
        return REGISTRY.get("robot", source)
    data = dict(_to_container(source))
    if set(data) <= {"name"}:  # only a name: a robot defined in code
        return REGISTRY.get("robot", str(data.get("name", "")))
    return RobotSpec.from_dict(data)


def _to_container(node: Any) -> Any:
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node
