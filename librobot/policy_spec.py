"""The bundle's contract as types: what a policy needs to run (``PolicySpec``) and what it has been through
(``BundleMetadata``).

``normalization.json`` is a ``PolicySpec``: the robot, the normalizer, the cameras and image shape, the
horizons, the action representation and, when the state was selected from the dataset's, where each
state feature came from. ``metadata.json`` is a ``BundleMetadata``: provenance (dataset, code commit,
simulator) and the reports of training, evaluation and export. Every reader and writer goes through
``from_dict`` / ``to_dict``; a missing or unknown key fails with the file and the key, so a typo in one
stage cannot silently become a default in the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from librobot.choices import ActionRepresentation
from librobot.data.normalizer import Normalizer
from librobot.robots import RobotSpec


class BundleError(ValueError):
    """A bundle that is incomplete or disagrees with what loads it."""


def _check_keys(data: Any, source: str | Path, required: tuple[str, ...], known: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise BundleError(f"{source}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise BundleError(f"{source}: missing keys {missing}; expected {list(required)}")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise BundleError(f"{source}: unknown keys {unknown}; known keys: {list(known)}")


@dataclass(frozen=True)
class PolicySpec:
    """What running a policy needs besides its weights (``normalization.json``)."""

    robot: RobotSpec
    normalizer: Normalizer
    cameras: tuple[str, ...]
    action_horizon: int
    obs_horizon: int
    image_shape: tuple[int, ...] = ()  # [3, H, W]; empty for a policy without cameras
    action_representation: ActionRepresentation = ActionRepresentation.ABSOLUTE
    # the dataset/env state features the robot's state was selected from (data.state_features), one per
    # state feature; closed-loop evaluation picks them out of the simulator's state
    state_source: tuple[str, ...] | None = None

    REQUIRED = ("robot", "normalizer", "cameras", "action_horizon", "obs_horizon")
    KNOWN = (*REQUIRED, "image_shape", "action_representation", "state_source")

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "normalization.json") -> PolicySpec:
        _check_keys(data, source, cls.REQUIRED, cls.KNOWN)
        try:
            robot = RobotSpec.from_dict(data["robot"])
        except (ValueError, TypeError, KeyError) as err:
            raise BundleError(f"{source}: robot: {err}") from None
        try:
            normalizer = Normalizer.from_dict(data["normalizer"])
        except (ValueError, TypeError, KeyError) as err:
            raise BundleError(f"{source}: normalizer: {err}") from None
        try:
            representation = ActionRepresentation.parse(data.get("action_representation", "absolute"), "key")
        except ValueError as err:
            raise BundleError(f"{source}: action_representation: {err}") from None
        cameras, source_names = data["cameras"], data.get("state_source")
        if not isinstance(cameras, list) or not all(isinstance(c, str) for c in cameras):
            raise BundleError(f"{source}: cameras must be a list of camera names; got {cameras!r:.200}")
        if source_names is not None and (
            not isinstance(source_names, list)
            or len(source_names) != robot.state_dim
            or not all(isinstance(n, str) for n in source_names)
        ):
            raise BundleError(
                f"{source}: state_source must list {robot.state_dim} feature names (one per state feature of robot "
                f"{robot.name!r}); got {source_names!r:.200}"
            )
        return cls(
            robot=robot,
            normalizer=normalizer,
            cameras=tuple(cameras),
            action_horizon=_positive_int(data["action_horizon"], "action_horizon", source),
            obs_horizon=_positive_int(data["obs_horizon"], "obs_horizon", source),
            image_shape=tuple(_positive_int(d, "image_shape", source) for d in data.get("image_shape") or ()),
            action_representation=representation,
            state_source=None if source_names is None else tuple(source_names),
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "robot": self.robot.to_dict(),
            "normalizer": self.normalizer.to_dict(),
            "cameras": list(self.cameras),
            "image_shape": list(self.image_shape),
            "action_horizon": self.action_horizon,
            "obs_horizon": self.obs_horizon,
            "action_representation": str(self.action_representation),
        }
        if self.state_source is not None:
            out["state_source"] = list(self.state_source)
        return out

    @classmethod
    def from_served(cls, metadata: Mapping[str, Any]) -> PolicySpec:
        """The spec inside a packaged (BentoML) model's metadata, which also holds runtime and provenance keys."""
        return cls.from_dict({k: metadata[k] for k in cls.KNOWN if k in metadata}, "the served model's metadata")

    def served(self) -> dict[str, Any]:
        """What a served model carries (everything but ``state_source``, which only the simulator needs)."""
        return {k: v for k, v in self.to_dict().items() if k != "state_source"}


def _positive_int(value: Any, key: str, source: str | Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BundleError(f"{source}: {key} must be a positive integer; got {value!r}")
    return value


@dataclass(frozen=True)
class BundleMetadata:
    """Where a bundle came from and what was measured on it (``metadata.json``).

    Stages add their record with ``librobot.bundle.update_metadata(path, <field>=...)``: training writes
    the provenance and ``train_metrics``, evaluation ``eval_metrics``, export ``export``, the pipeline's
    package step ``model_version``.
    """

    created: str
    code_commit: str | None = None
    dataset: dict[str, Any] | None = None  # path, md5, episodes, frames, fps
    env: dict[str, Any] | None = None  # the simulator that recorded the data: name, kwargs
    env_jobs: list[dict[str, Any]] | None = None
    tasks: list[str] | None = None
    mlflow: dict[str, Any] | None = None
    train_metrics: dict[str, Any] = field(default_factory=dict)
    eval_metrics: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)  # parity / quantization gates (onnx_export)
    model_version: str | None = None  # the registry's name:version once packaged

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "metadata.json") -> BundleMetadata:
        _check_keys(data, source, ("created",), cls.fields())
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
