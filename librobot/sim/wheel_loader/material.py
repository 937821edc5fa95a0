"""Kinematic fill model of the gravel: the pile, the bucket's fill, delivery and spill.

Particles were 50-300x slower than this and threw grains about (see docs/wheel_loader.md). Here
the pile is a half-ellipsoid whose height shrinks with the volume dug out; the bucket fills from the
volume its lip sweeps below the pile surface, and empties when tilted forward, into the truck when
the lip is over the bed above the rim, onto the ground otherwise. Pure numpy: it is tested without
MuJoCo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DENSITY = 1600.0  # kg/m^3 of loose gravel
CAPACITY = 2.0  # m^3 heaped bucket -> 3200 kg
BUCKET_WIDTH = 2.4  # m
PENETRATION_SHARE = 0.5  # pushing fills at most this share of the bucket; curling fills the rest
PENETRATION_EFFICIENCY = 0.35  # share of the swept volume that stays in the bucket
CURL_FILL_ANGLE = 0.5  # rad of curl inside the pile that fills an empty bucket
LEVEL_TILT = (-0.30, 0.35)  # bucket world pitch (rad) counted as "nearly level" for penetration
DUMP_TILT = -0.35  # below this bucket world pitch material pours out
DUMP_TIME = 0.6  # s: time constant of pouring at full tilt
DIG_FORCE_PER_M = 60000.0  # N of resistance per m of lip depth
DIG_FORCE_MAX = 35000.0  # N


@dataclass
class BedGeometry:
    """Truck bed as seen by the material: centre, yaw, half sizes, rim height."""

    x: float
    y: float
    yaw: float
    half_length: float
    half_width: float
    rim: float

    def contains(self, px: float, py: float, pz: float) -> bool:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = px - self.x, py - self.y
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        return abs(lx) <= self.half_length and abs(ly) <= self.half_width and pz >= self.rim


class Material:
    """State of the gravel in one episode. Volumes in m^3, masses in kg."""

    def __init__(self, pile_x: float, pile_y: float, pile_radius: float, pile_height: float, bed: BedGeometry):
        self.pile_x, self.pile_y, self.pile_radius = pile_x, pile_y, pile_radius
        self.pile_height0 = pile_height
        self.pile_height = pile_height
        self.bed = bed
        self.fill = 0.0  # m^3 in the bucket
        self.delivered = 0.0  # m^3 in the truck
        self.spilled = 0.0  # m^3 on the ground
        self.dig_depth = 0.0  # lip depth below the pile surface at the last update (m)

    # -- pile ----------------------------------------------------------------------------------
    def surface(self, x: float, y: float) -> float:
        """Pile surface height above the ground at (x, y); 0 outside the pile."""
        r2 = ((x - self.pile_x) ** 2 + (y - self.pile_y) ** 2) / self.pile_radius**2
        return self.pile_height * math.sqrt(1.0 - r2) if r2 < 1.0 else 0.0

    def _dig(self, volume: float) -> None:
        volume = min(volume, CAPACITY - self.fill)
        if volume <= 0.0:
            return
        self.fill += volume
        # a half-ellipsoid holds 2/3 pi R^2 H: the pile sinks by the volume taken out
        self.pile_height = max(0.2, self.pile_height - volume / (2.0 / 3.0 * math.pi * self.pile_radius**2))

    # -- one control step ---------------------------------------------------------------------------
    def update(
        self, lip_before: np.ndarray, lip_after: np.ndarray, heading: np.ndarray, tilt: float, curl: float, dt: float
    ) -> None:
        """Advance by one control step.

        lip_before/lip_after: lip world position (x, y, z) at the start and end of the step;
        heading: unit horizontal vector the bucket faces; tilt: bucket world pitch (rad, + = curled
        back); curl: change of the bucket's world pitch over the step (rad).
        """
        x, y, z = (float(v) for v in lip_after)
        depth = self.surface(x, y) - z
        self.dig_depth = max(depth, 0.0)
        if depth > 0.0 and self.fill < CAPACITY:
            push = float(np.dot(lip_after[:2] - lip_before[:2], heading))
            if push > 0.0 and LEVEL_TILT[0] <= tilt <= LEVEL_TILT[1]:
                room = PENETRATION_SHARE * CAPACITY - self.fill
                swept = BUCKET_WIDTH * min(depth, 0.8) * push * PENETRATION_EFFICIENCY
                self._dig(min(swept, max(room, 0.0)))
            if curl > 0.0:
                # curling scoops the heap ahead of the lip; shallow lips scoop less
                self._dig(CAPACITY * curl / CURL_FILL_ANGLE * min(1.0, depth / 0.4))
        if tilt < DUMP_TILT and self.fill > 0.0:
            rate = min(1.0, (DUMP_TILT - tilt) / 0.5) / DUMP_TIME
            out = self.fill * (1.0 - math.exp(-rate * dt))
            if out < 1e-4:
                out = self.fill
            self.fill -= out
            if self.bed.contains(x, y, z):
                self.delivered += out
            else:
                self.spilled += out

    def dig_force(self, lip_velocity: np.ndarray) -> np.ndarray:
        """Horizontal resisting force (N, world) on the bucket while the lip is in the pile."""
        v = np.asarray(lip_velocity[:2], dtype=np.float64)
        speed = float(np.linalg.norm(v))
        if self.dig_depth <= 0.0 or speed < 1e-3:
            return np.zeros(3)
        magnitude = min(DIG_FORCE_PER_M * self.dig_depth, DIG_FORCE_MAX) * min(1.0, speed / 0.2)
        return np.array([-v[0] / speed * magnitude, -v[1] / speed * magnitude, 0.0])

    # -- masses ---------------------------------------------------------------------------------------
    @property
    def payload_kg(self) -> float:
        return self.fill * DENSITY

    @property
    def delivered_kg(self) -> float:
        return self.delivered * DENSITY

    @property
    def spilled_kg(self) -> float:
        return self.spilled * DENSITY
