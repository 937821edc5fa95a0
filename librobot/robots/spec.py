"""RobotSpec: what a robot's state and action vectors mean (names, units, bounds) and its rate.

A spec travels inside every policy bundle (``normalization.json``) so that the code that serves a
policy checks observations against the robot the policy was trained for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np


class SafeMode(StrEnum):
    """How an action feature is made safe when the policy has no action for a control step."""

    HOLD = "hold"  # the state feature of the same name: stay where you are (position control)
    LAST = "last"  # repeat the last action sent (0, clipped to the bounds, before the first one)


@dataclass(frozen=True)
class Feature:
    """One scalar of a state or action vector.

    ``safe`` (action features only): what a robot client commands when no action is due in time
    (the server is slow or gone): a value in robot units, ``SafeMode.HOLD`` or ``SafeMode.LAST``;
    None picks HOLD where the state has a feature of the same name, else LAST.
    """

    name: str
    unit: str = ""
    low: float = -np.inf
    high: float = np.inf
    safe: float | SafeMode | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a robot feature needs a non-empty name")
        if not float(self.low) <= float(self.high):
            raise ValueError(f"feature {self.name!r}: low {self.low} is above high {self.high}")
        if isinstance(self.safe, str) and not isinstance(self.safe, SafeMode):
            modes = [m.value for m in SafeMode]
            if self.safe not in modes:
                raise ValueError(f"feature {self.name!r}: safe is {self.safe!r}; expected a number or one of {modes}")
            object.__setattr__(self, "safe", SafeMode(self.safe))
        elif self.safe is not None and not isinstance(self.safe, SafeMode):
            value = float(self.safe)
            if not (np.isfinite(value) and self.low <= value <= self.high):
                raise ValueError(
                    f"feature {self.name!r}: safe value {self.safe} is outside its bounds [{self.low}, {self.high}]"
                )
            object.__setattr__(self, "safe", value)


@dataclass(frozen=True)
class Camera:
    name: str
    height: int = 96
    width: int = 96


@dataclass(frozen=True)
class RobotSpec:
    name: str
    state: tuple[Feature, ...]
    action: tuple[Feature, ...]
    fps: float = 10.0
    cameras: tuple[Camera, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for kind, feats in (("state", self.state), ("action", self.action)):
            if not feats:
                raise ValueError(f"robot {self.name!r}: {kind} has no features")
            names = [f.name for f in feats]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"robot {self.name!r}: {kind} names repeat: {', '.join(dupes)}")
        if self.fps <= 0:
            raise ValueError(f"robot {self.name!r}: fps must be positive, got {self.fps}")
        for f in self.state:
            if f.safe is not None:
                raise ValueError(f"robot {self.name!r}: state feature {f.name!r} has a safe value; only actions do")
        for f in self.action:
            if f.safe is SafeMode.HOLD and f.name not in self.state_names:
                raise ValueError(
                    f"robot {self.name!r}: action {f.name!r} is safe: hold, but the state has no feature "
                    f"{f.name!r} to hold (state: {', '.join(self.state_names)})"
                )

    # -- names and bounds ---------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        return [f.name for f in self.state]

    @property
    def action_names(self) -> list[str]:
        return [f.name for f in self.action]

    @property
    def state_dim(self) -> int:
        return len(self.state)

    @property
    def action_dim(self) -> int:
        return len(self.action)

    @property
    def camera_names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def bounds(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        feats = self._features(kind)
        low = np.array([f.low for f in feats], dtype=np.float64)
        high = np.array([f.high for f in feats], dtype=np.float64)
        return low, high

    def _features(self, kind: str) -> tuple[Feature, ...]:
        if kind not in ("state", "action"):
            raise ValueError(f"kind must be 'state' or 'action', got {kind!r}")
        return self.state if kind == "state" else self.action

    # -- the safe action ------------------------------------------------------------------
    def safe_modes(self) -> list[float | SafeMode]:
        """Each action feature's safe value or mode, with the defaults resolved."""
        states = set(self.state_names)
        return [
            f.safe if f.safe is not None else (SafeMode.HOLD if f.name in states else SafeMode.LAST)
            for f in self.action
        ]

    def safe_action(self, state: np.ndarray, last_action: np.ndarray | None = None) -> np.ndarray:
        """The action ``[Da]`` to command when none is due in time: brake, hold the pose, or repeat.

        ``state``: the current state ``[Ds]`` (its last step for ``[T, Ds]``); ``last_action``: the
        last action sent, or None before the first one. Clipped to the action bounds.
        """
        state = np.asarray(state, dtype=np.float64)
        state = state[-1] if state.ndim == 2 else state
        self.check_dim(state, "state")
        if last_action is not None:
            self.check_dim(last_action, "action")
        out = np.zeros(self.action_dim)
        for i, (feature, mode) in enumerate(zip(self.action, self.safe_modes(), strict=True)):
            if mode is SafeMode.HOLD:
                out[i] = state[self.state_names.index(feature.name)]
            elif mode is SafeMode.LAST:
                out[i] = 0.0 if last_action is None else float(np.asarray(last_action)[i])
            else:
                out[i] = mode
        return self.clip(out, "action")

    # -- conversions --------------------------------------------------------------------
    def clip(self, values: np.ndarray, kind: str = "action") -> np.ndarray:
        """Clip the last axis to the bounds (unbounded features pass through)."""
        self.check_dim(values, kind)
        low, high = self.bounds(kind)
        return np.clip(values, low, high).astype(np.asarray(values).dtype, copy=False)

    def normalize(self, values: np.ndarray, kind: str = "action") -> np.ndarray:
        """Map bounded features to [-1, 1] by their bounds; unbounded ones pass through."""
        self.check_dim(values, kind)
        low, high, span, bounded = self._affine(kind)
        out = np.asarray(values, dtype=np.float64).copy()
        out[..., bounded] = 2.0 * (out[..., bounded] - low[bounded]) / span[bounded] - 1.0
        return out

    def denormalize(self, values: np.ndarray, kind: str = "action") -> np.ndarray:
        self.check_dim(values, kind)
        low, high, span, bounded = self._affine(kind)
        out = np.asarray(values, dtype=np.float64).copy()
        out[..., bounded] = (out[..., bounded] + 1.0) / 2.0 * span[bounded] + low[bounded]
        return out

    def _affine(self, kind: str):
        low, high = self.bounds(kind)
        bounded = np.isfinite(low) & np.isfinite(high) & (high > low)
        span = np.where(bounded, high - low, 1.0)
        return low, high, span, bounded

    def check_dim(self, values: np.ndarray, kind: str) -> None:
        dim = np.shape(values)[-1] if np.ndim(values) else 0
        expected = len(self._features(kind))
        if dim != expected:
            raise ValueError(
                f"{kind} has {dim} values; robot {self.name!r} expects {expected} "
                f"({', '.join(f.name for f in self._features(kind))})"
            )

    def check_names(self, names: Sequence[str], kind: str) -> None:
        expected = [f.name for f in self._features(kind)]
        if list(names) != expected:
            missing = [n for n in expected if n not in names]
            extra = [n for n in names if n not in expected]
            detail = []
            if missing:
                detail.append(f"missing {missing}")
            if extra:
                detail.append(f"unexpected {extra}")
            if not detail:
                detail.append("same names in another order")
            raise ValueError(f"{kind} feature names disagree with robot {self.name!r}: {'; '.join(detail)}")

    # -- serialization --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def feats(fs):
            return [
                {"name": f.name, "unit": f.unit, "low": _json_float(f.low), "high": _json_float(f.high)}
                | ({} if f.safe is None else {"safe": f.safe.value if isinstance(f.safe, SafeMode) else f.safe})
                for f in fs
            ]

        return {
            "name": self.name,
            "fps": self.fps,
            "description": self.description,
            "state": feats(self.state),
            "action": feats(self.action),
            "cameras": [dataclasses.asdict(c) for c in self.cameras],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RobotSpec:
        allowed = {"name", "fps", "description", "state", "action", "cameras"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"robot spec: unknown keys {unknown}; allowed: {sorted(allowed)}")
        name = data.get("name")
        if not name:
            raise ValueError("robot spec: 'name' is required")

        def feats(kind: str) -> tuple[Feature, ...]:
            items = data.get(kind)
            if not items:
                raise ValueError(f"robot {name!r}: '{kind}' must list at least one feature")
            out = []
            for i, item in enumerate(items):
                if isinstance(item, str):
                    item = {"name": item}
                bad = sorted(set(item) - {"name", "unit", "low", "high", "safe"})
                if bad:
                    raise ValueError(f"robot {name!r}: {kind}[{i}] has unknown keys {bad}")
                out.append(
                    Feature(
                        name=str(item["name"]),
                        unit=str(item.get("unit", "")),
                        low=_parse_float(item.get("low", -np.inf)),
                        high=_parse_float(item.get("high", np.inf)),
                        safe=item.get("safe"),
                    )
                )
            return tuple(out)

        cameras = []
        for cam in data.get("cameras") or []:
            cam = {"name": cam} if isinstance(cam, str) else dict(cam)
            cameras.append(Camera(**cam))
        return cls(
            name=str(name),
            state=feats("state"),
            action=feats("action"),
            fps=float(data.get("fps", 10.0)),
            cameras=tuple(cameras),
            description=str(data.get("description", "")),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> RobotSpec:
        from omegaconf import OmegaConf

        return cls.from_dict(OmegaConf.to_container(OmegaConf.load(path), resolve=True))


def _json_float(x: float) -> float | str:
    """JSON has no infinity; store unbounded limits as strings."""
    if np.isposinf(x):
        return "inf"
    if np.isneginf(x):
        return "-inf"
    return float(x)


def _parse_float(x: Any) -> float:
    return float(x) if not isinstance(x, str) else float(x.replace("+", ""))


def features(*items: tuple) -> tuple[Feature, ...]:
    """Shorthand for code-defined robots: ``features(("x", "m", -50, 50), ...)``."""
    return tuple(Feature(*item) for item in items)
