"""Noise injected into the expert's executed actions while recording (DART, Laskey et al. 2017).

A cloned policy drifts off the expert's path and has never seen how to get back. Recording with
perturbed execution puts the expert in those drifted states; the stored label stays the expert's
clean action, so the data teaches the correction, not the noise.

``sigma`` is per action name, as a fraction of that action's half-range (bounds from the robot
spec); names left out get none (e.g. a gear selector, where noise would only flip gears).
``correlation`` is the AR(1) coefficient per control step: 0 is white noise; 0.8 keeps a push for
about half a second at 10 Hz, which moves the machine off its path far more than white noise on a
rate command, whose steps average out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActionNoise:
    sigma: Mapping[str, float]
    correlation: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.correlation < 1.0:
            raise ValueError(f"action noise correlation must be in [0, 1), got {self.correlation}")
        for name, value in self.sigma.items():
            if not np.isfinite(value) or value < 0.0:
                raise ValueError(f"action noise sigma for {name!r} must be a finite number >= 0, got {value}")

    @classmethod
    def parse(cls, text: str, correlation: float = 0.0) -> ActionNoise:
        """``"steering=0.3,boom=0.2"`` -> per-name sigmas (fractions of each half-range)."""
        sigma = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"action noise {item!r}: expected NAME=SIGMA, e.g. steering=0.3")
            try:
                sigma[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"action noise {item!r}: sigma {value!r} is not a number") from None
        if not sigma:
            raise ValueError(f"action noise {text!r}: no NAME=SIGMA pairs")
        return cls(sigma, correlation)

    def scaled(self, factor: float) -> ActionNoise:
        """Every sigma times ``factor`` (a task that tolerates less noise than another, ``--noise-tasks``)."""
        return ActionNoise({name: value * factor for name, value in self.sigma.items()}, self.correlation)

    def to_dict(self) -> dict:
        return {"sigma": dict(self.sigma), "correlation": self.correlation, "label": "clean expert action"}

    def sampler(self, action_names: Sequence[str], bounds: tuple[np.ndarray, np.ndarray], seed: int):
        """A per-episode callable ``action -> executed action`` (deterministic in ``seed``)."""
        unknown = sorted(set(self.sigma) - set(action_names))
        if unknown:
            raise ValueError(
                f"action noise names {unknown} are not actions of this robot; actions: {list(action_names)}"
            )
        low, high = (np.asarray(b, dtype=np.float64) for b in bounds)
        half_range = np.where(np.isfinite(high - low), (high - low) / 2.0, 1.0)
        scale = np.array([self.sigma.get(name, 0.0) for name in action_names]) * half_range
        return _Sampler(scale, self.correlation, low, high, np.random.default_rng([seed, 0xDA27]))


class _Sampler:
    def __init__(self, scale, correlation, low, high, rng) -> None:
        self.scale, self.rho, self.low, self.high, self.rng = scale, correlation, low, high, rng
        self.state = np.zeros_like(scale)

    def __call__(self, action: np.ndarray) -> np.ndarray:
        innovation = self.rng.standard_normal(self.scale.shape)
        self.state = self.rho * self.state + np.sqrt(1.0 - self.rho**2) * innovation
        return np.clip(action + self.scale * self.state, self.low, self.high)
