"""Normalizer: per-feature affine maps from dataset stats, saved as JSON, strict about names and dims.

Modes: MEAN_STD ((x - mean) / std), MIN_MAX ([min, max] -> [-1, 1]), QUANTILES ([q01, q99] -> [-1, 1],
robust to outliers), IDENTITY. Dimensions whose scale is ~0 (a constant feature) map to 0 instead
of dividing by zero, and unnormalize gives back the constant. Stats are checked when a Normalizer is
built (from a dataset or from a bundle's normalization.json): every value finite, std >= 0, min <= max,
q01 <= q99, and no zero std on a feature whose min..max says it varies.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from librobot.choices import NormalizationMode

BATCH_KEYS = {"observation.state": "state", "action": "actions"}  # feature -> raw batch key
_EPS = 1e-8


class Normalizer:
    def __init__(self, features: Mapping[str, Mapping[str, Any]]):
        """``features[name] = {"mode", "names", "stats": {"mean", "std", "min", "max", "q01", "q99"}}``."""
        self.features: dict[str, dict[str, Any]] = {}
        for name, spec in features.items():
            mode = NormalizationMode.parse(str(spec["mode"]).upper(), f"normalization mode for {name!r}").value
            names = list(spec["names"])
            stats = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in spec.get("stats", {}).items()}
            for key in _needed(mode):
                if key not in stats:
                    raise ValueError(f"{name}: mode {mode} needs stats {key!r}; got {sorted(stats)}")
                if len(stats[key]) != len(names):
                    raise ValueError(f"{name}: stats {key!r} has {len(stats[key])} values for {len(names)} names")
            _check_stats(name, names, stats)
            self.features[name] = {"mode": mode, "names": names, "stats": stats}
        self._affine = {name: self._make_affine(spec) for name, spec in self.features.items()}

    @classmethod
    def from_stats(
        cls,
        stats: Mapping[str, Mapping[str, Any]],
        modes: Mapping[str, str],
        names: Mapping[str, Sequence[str]],
    ) -> Normalizer:
        """Build from dataset stats (``meta/stats.json`` layout) for the features in ``modes``."""
        out = {}
        for feature, mode in modes.items():
            if feature not in stats:
                raise ValueError(f"no stats for {feature!r}; stats cover {sorted(stats)}")
            keep = {k: v for k, v in stats[feature].items() if k in ("mean", "std", "min", "max", "q01", "q99")}
            out[feature] = {"mode": mode, "names": list(names[feature]), "stats": keep}
        return cls(out)

    @staticmethod
    def _make_affine(spec: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(center, scale) so that normalized = (x - center) / scale."""
        s, mode, dim = spec["stats"], spec["mode"], len(spec["names"])
        if mode == "MEAN_STD":
            center, scale = s["mean"], s["std"]
        elif mode == "MIN_MAX":
            center, scale = (s["max"] + s["min"]) / 2, (s["max"] - s["min"]) / 2
        elif mode == "QUANTILES":
            center, scale = (s["q99"] + s["q01"]) / 2, (s["q99"] - s["q01"]) / 2
        else:
            center, scale = np.zeros(dim), np.ones(dim)
        return np.asarray(center, np.float64), np.where(np.abs(scale) < _EPS, np.inf, scale)  # constant -> 0

    # -- checks ---------------------------------------------------------------------------------
    def check(self, feature: str, x: Any, names: Sequence[str] | None = None) -> None:
        if feature not in self.features:
            raise ValueError(f"normalizer has no feature {feature!r}; it knows {sorted(self.features)}")
        expected = self.features[feature]["names"]
        dim = x.shape[-1] if getattr(x, "ndim", 0) else 0
        if dim != len(expected):
            raise ValueError(
                f"{feature} has {dim} values; the normalizer expects {len(expected)} ({', '.join(expected)})"
            )
        if names is not None and list(names) != expected:
            missing = [n for n in expected if n not in names]
            extra = [n for n in names if n not in expected]
            raise ValueError(f"{feature} names disagree with the normalizer: missing {missing}, unexpected {extra}")

    # -- maps -----------------------------------------------------------------------------------
    def normalize(self, feature: str, x: Any, names: Sequence[str] | None = None) -> Any:
        self.check(feature, x, names)
        center, scale = self._affine[feature]
        return _apply(x, lambda c, s, v: (v - c) / s, center, scale)

    def unnormalize(self, feature: str, x: Any) -> Any:
        self.check(feature, x)
        center, scale = self._affine[feature]
        finite = np.where(np.isinf(scale), 0.0, scale)
        return _apply(x, lambda c, s, v: v * s + c, center, finite)

    def normalize_batch(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """Normalize ``state`` and ``actions`` of a raw batch; other keys pass through untouched."""
        out = dict(batch)
        for feature, key in BATCH_KEYS.items():
            if feature in self.features and key in batch:
                out[key] = self.normalize(feature, batch[key])
        return out

    # -- serialization ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            name: {"mode": s["mode"], "names": s["names"], "stats": {k: v.tolist() for k, v in s["stats"].items()}}
            for name, s in self.features.items()
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Normalizer) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable stats: equal by value, not hashable

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Normalizer:
        return cls(data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def names(self, feature: str) -> list[str]:
        return list(self.features[feature]["names"])


def _check_stats(feature: str, names: list[str], stats: Mapping[str, np.ndarray]) -> None:
    """Refuse stats no dataset can produce: NaN/inf (NaN actions), a negative spread, min above max,
    or a zero std where min/max say the feature moves (it would be silently mapped to a constant)."""

    def where(key: str, i: int) -> str:
        label = f" ({names[i]})" if len(stats[key]) == len(names) else ""
        return f"{feature} stats {key}[{i}]{label}"

    for key, values in stats.items():
        bad = np.nonzero(~np.isfinite(values))[0]
        if len(bad):
            raise ValueError(f"{where(key, int(bad[0]))} is {values[bad[0]]}; expected a finite number")
    if "std" in stats:
        bad = np.nonzero(stats["std"] < 0)[0]
        if len(bad):
            raise ValueError(f"{where('std', int(bad[0]))} is {stats['std'][bad[0]]}; expected >= 0")
    for low, high in (("min", "max"), ("q01", "q99")):
        if low in stats and high in stats and len(stats[low]) == len(stats[high]):
            bad = np.nonzero(stats[low] > stats[high])[0]
            if len(bad):
                i = int(bad[0])
                raise ValueError(
                    f"{where(low, i)} is {stats[low][i]}, above {high} {stats[high][i]}; expected {low} <= {high}"
                )
    if {"std", "min", "max"} <= set(stats) and len(stats["std"]) == len(stats["min"]) == len(stats["max"]):
        # a real std is at least range / sqrt(2N) > 0; 1e-4 leaves float32 jitter of a constant alone
        bad = np.nonzero((stats["std"] < _EPS) & (stats["max"] - stats["min"] > 1e-4))[0]
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"{where('std', i)} is {stats['std'][i]} but min..max is {stats['min'][i]}..{stats['max'][i]}; "
                "expected std > 0 for a feature that varies"
            )


def _needed(mode: str) -> tuple[str, ...]:
    return {"MEAN_STD": ("mean", "std"), "MIN_MAX": ("min", "max"), "QUANTILES": ("q01", "q99")}.get(mode, ())


def _apply(x: Any, fn, center: np.ndarray, scale: np.ndarray) -> Any:
    torch = sys.modules.get("torch")  # not imported here: the ONNX service normalizes without torch
    if torch is not None and isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float32
        c = torch.as_tensor(center, dtype=dtype, device=x.device)
        s = torch.as_tensor(scale, dtype=dtype, device=x.device)
        return fn(c, s, x.to(dtype))
    arr = np.asarray(x)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    return fn(center, scale, arr.astype(np.float64)).astype(dtype)
