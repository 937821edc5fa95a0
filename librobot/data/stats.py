"""Global dataset statistics, computed streaming in bounded memory.

Mean and std merge exactly (Chan's parallel update in float64). Quantiles come from a per-dimension
histogram of ``bins`` equal bins whose range grows by doubling (adjacent bins merge pairwise) when
data falls outside it. It starts at the first batch's range and only doubles toward data outside it,
so it spans less than 4x the data range; a quantile is then within one bin, ``4 * (max - min) / bins``,
of the exact order statistic (under 0.1 % of the range with the default 4096 bins), for the whole
dataset at once, never a merge of per-episode envelopes.
uint8 images use an exact 256-bin histogram per channel (values reported in [0, 1] like LeRobot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


class RunningStats:
    """Streaming mean/std/min/max/quantiles of vectors ``[N, D]``."""

    def __init__(self, bins: int = 4096):
        if bins < 2 or bins % 2:
            raise ValueError(f"bins must be an even number >= 2, got {bins}")
        self.bins = bins
        self.count = 0
        self.dim: int | None = None

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(len(x), -1) if x.ndim != 2 else x
        if len(x) == 0:
            return
        if not np.all(np.isfinite(x)):
            raise ValueError("stats: values contain NaN or inf")
        if self.dim is None:
            self._init(x)
        elif x.shape[1] != self.dim:
            raise ValueError(f"stats: got vectors of {x.shape[1]} values, earlier ones had {self.dim}")
        n, mean, m2 = len(x), x.mean(0), ((x - x.mean(0)) ** 2).sum(0)
        total = self.count + n
        delta = mean - self._mean
        self._mean = self._mean + delta * n / total
        self._m2 = self._m2 + m2 + delta**2 * self.count * n / total
        self.count = total
        self._min = np.minimum(self._min, x.min(0))
        self._max = np.maximum(self._max, x.max(0))
        self._add_to_histogram(x)

    def _init(self, x: np.ndarray) -> None:
        self.dim = x.shape[1]
        self._mean = np.zeros(self.dim)
        self._m2 = np.zeros(self.dim)
        self._min = np.full(self.dim, np.inf)
        self._max = np.full(self.dim, -np.inf)
        lo, hi = x.min(0), x.max(0)
        span = np.where(hi > lo, hi - lo, np.maximum(np.abs(lo), 1.0) * 1e-6)
        self._lo = lo.copy()
        self._width = span * (1 + 1e-9) / self.bins  # right edge inclusive of the first batch max
        self._counts = np.zeros((self.dim, self.bins), dtype=np.int64)

    def _add_to_histogram(self, x: np.ndarray) -> None:
        for d in range(self.dim):
            col = x[:, d]
            while col.min() < self._lo[d] or col.max() >= self._lo[d] + self._width[d] * self.bins:
                self._double(d, grow_left=col.min() < self._lo[d])
            idx = np.minimum(((col - self._lo[d]) / self._width[d]).astype(np.int64), self.bins - 1)
            self._counts[d] += np.bincount(idx, minlength=self.bins)

    def _double(self, d: int, grow_left: bool) -> None:
        merged = self._counts[d].reshape(-1, 2).sum(1)
        empty = np.zeros_like(merged)
        if grow_left:
            self._counts[d] = np.concatenate([empty, merged])
            self._lo[d] -= self._width[d] * self.bins
        else:
            self._counts[d] = np.concatenate([merged, empty])
        self._width[d] *= 2

    def quantile(self, q: float) -> np.ndarray:
        out = np.empty(self.dim)
        target = q * self.count
        for d in range(self.dim):
            cum = np.cumsum(self._counts[d])
            b = int(np.searchsorted(cum, target, side="left"))
            b = min(b, self.bins - 1)
            before = cum[b - 1] if b > 0 else 0
            frac = (target - before) / max(self._counts[d][b], 1)
            out[d] = self._lo[d] + (b + frac) * self._width[d]
        return np.clip(out, self._min, self._max)

    def result(self) -> dict[str, np.ndarray]:
        if not self.count:
            raise ValueError("stats: no data was added")
        out = {
            "mean": self._mean.copy(),
            "std": np.sqrt(self._m2 / self.count),
            "min": self._min.copy(),
            "max": self._max.copy(),
            "count": np.array([self.count]),
        }
        for key, q in QUANTILES.items():
            out[key] = self.quantile(q)
        return out


class ImageStats:
    """Per-channel statistics of uint8 frames ``[N, H, W, 3]``; exact (256-bin histograms)."""

    def __init__(self):
        self._counts = np.zeros((3, 256), dtype=np.int64)
        self.frames = 0

    def update(self, frames: np.ndarray) -> None:
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"image stats expect uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
        for c in range(3):
            self._counts[c] += np.bincount(frames[..., c].ravel(), minlength=256)
        self.frames += len(frames)

    def result(self) -> dict[str, np.ndarray]:
        values = np.arange(256) / 255.0
        n = self._counts.sum(1)
        mean = (self._counts * values).sum(1) / n
        std = np.sqrt((self._counts * (values - mean[:, None]) ** 2).sum(1) / n)
        nz = self._counts > 0
        out = {
            "mean": mean,
            "std": std,
            "min": np.array([values[row].min() for row in nz]),
            "max": np.array([values[row].max() for row in nz]),
        }
        cum = np.cumsum(self._counts, 1)
        for key, q in QUANTILES.items():
            out[key] = np.array([values[np.searchsorted(cum[c], q * n[c])] for c in range(3)])
        # LeRobot stores image stats with shape [3, 1, 1] to broadcast over [3, H, W]
        out = {k: v.reshape(3, 1, 1) for k, v in out.items()}
        out["count"] = np.array([self.frames])
        return out


def stats_to_json(stats: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    return {f: {k: np.asarray(v).tolist() for k, v in s.items()} for f, s in stats.items()}


def stats_from_json(data: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    return {f: {k: np.asarray(v, dtype=np.float64) for k, v in s.items()} for f, s in data.items()}


def compute_stats(arrays: Mapping[str, np.ndarray], bins: int = 4096) -> dict[str, dict[str, np.ndarray]]:
    """Stats of in-memory arrays (one batch per feature); the streaming classes do the work."""
    out = {}
    for name, values in arrays.items():
        acc = RunningStats(bins)
        acc.update(values)
        out[name] = acc.result()
    return out
