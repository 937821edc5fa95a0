"""``robot=dataset``: the RobotSpec of a dataset recorded elsewhere, derived from the dataset itself.

A LeRobot dataset says what its state and action vectors hold (feature names, or none), how fast
it was recorded and what its cameras see; that is a robot spec. It travels into the bundle like any
other robot, so serving checks observations against exactly what the policy was trained on.

Bounds: actions are bounded by the range the demonstrations used (min/max of the dataset's stats),
so a served policy never commands more than a demonstrator did; states are unbounded, because a
robot may legitimately be observed outside the recorded range and must not be refused for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.feature_selection import select_features
from librobot.robots import load_robot
from librobot.robots.spec import Camera, Feature, RobotSpec

DATASET_ROBOT = "dataset"


def names_dataset_robot(robot_cfg: Any) -> bool:
    """True for ``robot=dataset`` (the config group) or ``robot: dataset`` (a plain name)."""
    if isinstance(robot_cfg, str):
        return robot_cfg == DATASET_ROBOT
    if isinstance(robot_cfg, Mapping) or hasattr(robot_cfg, "keys"):
        return set(robot_cfg.keys()) <= {"name"} and robot_cfg.get("name") == DATASET_ROBOT
    return False


def resolve_robot(robot_cfg: Any, reader: Any, selections: Mapping[str, Any] | None = None) -> RobotSpec:
    """The config's robot, or the dataset's own (``reader``, a LeRobotV3Reader) when the config says ``dataset``."""
    if not names_dataset_robot(robot_cfg):
        return load_robot(robot_cfg)
    selections = selections or {}
    return robot_from_dataset(
        reader, state_selection=selections.get("observation.state"), action_selection=selections.get("action")
    )


def robot_from_dataset(
    reader: Any,
    state_key: str = "observation.state",
    action_key: str = "action",
    cameras: Sequence[str] = (),
    state_selection: Any = None,
    action_selection: Any = None,
) -> RobotSpec:
    """RobotSpec from a ``LeRobotV3Reader``: names, action bounds from stats, cameras, fps.

    ``state_selection`` / ``action_selection`` (``FeatureSelection``): the dimensions the policy uses.
    """
    for key in (state_key, action_key):
        if key not in reader.features:
            raise ValueError(f"{reader.root}: dataset has no feature {key!r}; it has {sorted(reader.features)}")
    state_selection = state_selection or select_features(reader.feature_names(state_key), None, state_key)
    action_selection = action_selection or select_features(reader.feature_names(action_key), None, action_key)
    stats = action_selection.take_stats(reader.stats[action_key])
    low, high = np.asarray(stats["min"], dtype=np.float64), np.asarray(stats["max"], dtype=np.float64)
    action = tuple(
        Feature(name, low=float(lo), high=float(hi))
        for name, lo, hi in zip(action_selection.names, low.reshape(-1), high.reshape(-1), strict=True)
    )
    state = tuple(Feature(name) for name in state_selection.names)
    names = list(cameras) or list(reader.cameras)
    return RobotSpec(
        name=str(reader.info.get("robot_type") or Path(reader.root).name),
        state=state,
        action=action,
        fps=reader.fps,
        cameras=tuple(_camera(name, reader.features[reader.camera_key_of(name)]) for name in names),
        description=f"derived from the dataset at {Path(reader.root).name} (robot=dataset)",
    )


def _camera(name: str, feature: Mapping[str, Any]) -> Camera:
    """LeRobot writes video shapes as [H, W, C] with names [height, width, channels]; accept [C, H, W] too."""
    shape = [int(s) for s in feature["shape"]]
    names = list(feature.get("names") or [])
    if "height" in names and "width" in names:
        return Camera(name, height=shape[names.index("height")], width=shape[names.index("width")])
    h, w = (shape[1], shape[2]) if shape[0] in (1, 3) and shape[-1] not in (1, 3) else (shape[0], shape[1])
    return Camera(name, height=h, width=w)
