"""Per-seed task layout: where the loader starts, where the pile and the truck stand."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# names of ``obs["targets"]`` (include_targets=True), in order
TARGET_NAMES = ("pile_x", "pile_y", "pile_radius", "pile_height", "truck_x", "truck_y", "truck_yaw")


@dataclass(frozen=True)
class Layout:
    start_x: float
    start_y: float
    start_yaw: float
    pile_x: float
    pile_y: float
    pile_radius: float
    pile_height: float
    truck_x: float
    truck_y: float
    truck_yaw: float

    def targets(self, pile_height: float | None = None) -> np.ndarray:
        """Pile and truck poses as ``obs["targets"]``; the pile height shrinks as it is dug."""
        height = self.pile_height if pile_height is None else pile_height
        return np.array(
            [self.pile_x, self.pile_y, self.pile_radius, height, self.truck_x, self.truck_y, self.truck_yaw],
            dtype=np.float64,
        )

    @property
    def truck_side(self) -> float:
        """+1 when the truck stands to the loader's left (+y), -1 to its right."""
        return 1.0 if self.truck_y > 0 else -1.0


def sample_layout(seed: int) -> Layout:
    """The layout of one seed; ``numpy.random.default_rng(seed)`` is the only randomness."""
    rng = np.random.default_rng(seed)
    start_x, start_y = rng.uniform(-1.0, 1.0, size=2)
    start_yaw = rng.uniform(-0.35, 0.35)
    pile_x = rng.uniform(11.0, 13.5)
    pile_y = rng.uniform(-2.0, 2.0)
    pile_radius = rng.uniform(2.2, 2.8)
    pile_height = rng.uniform(1.2, 1.6)
    truck_x = rng.uniform(4.0, 7.0)
    truck_y = (1.0 if rng.uniform() < 0.5 else -1.0) * rng.uniform(9.5, 11.0)
    truck_yaw = rng.uniform(-0.2, 0.2)
    return Layout(
        float(start_x),
        float(start_y),
        float(start_yaw),
        float(pile_x),
        float(pile_y),
        float(pile_radius),
        float(pile_height),
        float(truck_x),
        float(truck_y),
        float(truck_yaw),
    )


def yaw_quat(yaw: float) -> np.ndarray:
    """MuJoCo quaternion (w, x, y, z) of a rotation about the vertical axis."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
