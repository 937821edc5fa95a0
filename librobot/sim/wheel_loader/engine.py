"""Diesel engine with an rpm governor, loaded by the driveline and a capped hydraulic pump.

A scalar ODE integrated in Python at the physics step (a few float operations per substep); the
wheels follow ``gear * engine speed / DRIVE_RATIO`` through MuJoCo velocity servos.
"""

from __future__ import annotations

import math

IDLE_RPM = 800.0
RATED_RPM = 2200.0
RPM_LIMITS = (600.0, 2400.0)
INERTIA = 2.0  # kg*m^2
TORQUE_MAX = 900.0  # N*m
GOVERNOR_GAIN = 40.0  # N*m per rad/s below the set-point
PUMP_TORQUE_MAX = 400.0  # N*m: the pump is capped so a full bucket does not stall the engine
FRICTION_TORQUE = 30.0  # N*m
PUMP_EFFICIENCY = 0.8

RPM_TO_RAD = 2.0 * math.pi / 60.0


class Engine:
    def __init__(self) -> None:
        self.rpm = IDLE_RPM
        self.torque = 0.0

    def reset(self) -> None:
        self.rpm = IDLE_RPM
        self.torque = 0.0

    @property
    def omega(self) -> float:
        return self.rpm * RPM_TO_RAD

    def advance(self, throttle: float, drive_load: float, hydraulic_power: float, dt: float, substeps: int) -> None:
        """Integrate ``dt`` seconds. drive_load: N*m at the crankshaft; hydraulic_power: W."""
        target = (IDLE_RPM + throttle * (RATED_RPM - IDLE_RPM)) * RPM_TO_RAD
        h = dt / substeps
        omega = self.omega
        for _ in range(substeps):
            pump = min(PUMP_TORQUE_MAX, hydraulic_power / (PUMP_EFFICIENCY * max(omega, 1.0)))
            load = drive_load + pump + FRICTION_TORQUE
            self.torque = min(max(GOVERNOR_GAIN * (target - omega), 0.0), TORQUE_MAX)
            omega += h * (self.torque - load) / INERTIA
            omega = min(max(omega, RPM_LIMITS[0] * RPM_TO_RAD), RPM_LIMITS[1] * RPM_TO_RAD)
        self.rpm = omega / RPM_TO_RAD
