"""Scripted expert for the loading cycle, on the 22-D state plus the episode's known layout.

Phases: approach the pile (boom low, bucket level) -> penetrate -> curl (fill and lift) ->
reverse in a V with opposite lock until facing the truck -> drive to it by articulated pure
pursuit while raising the boom -> stop with the lip over the bed -> dump -> back off and swing
round to the pile for the next bucket. ``.phase`` names the phase of the last action; recorders
store it per step.
"""

from __future__ import annotations

import math

import numpy as np

from librobot.sim.wheel_loader import model as mdl

PHASES = ("approach", "penetrate", "curl", "reverse", "to_truck", "dump", "back_off")

APPROACH_BOOM = -0.44  # just above the lower limit: a dragging bucket stalls the approach
CARRY_BOOM = 0.10
DUMP_BOOM = 0.86
CURL_PITCH = 0.55  # bucket world pitch (rad) that holds a full load
CARRY_PITCH = 0.45
DUMP_PITCH = -0.85
HINGE_TO_RIM = 2.55  # m from the hinge to the truck's near rim when dumping
LOOKAHEAD = 4.0
HALF_WHEELBASE = mdl.AXLE_OFFSET
PENETRATION = 0.9  # m the lip goes into the pile (horizontally, from its edge)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def _rate(error: float, max_rate: float, tau: float = 0.25) -> float:
    """Hydraulic command in [-1, 1] that closes ``error`` (rad) in about ``tau`` seconds."""
    return float(np.clip(error / (max_rate * tau), -1.0, 1.0))


class WheelLoaderExpert:
    """callable(obs) -> action (6-D, robot units)."""

    def __init__(self, env):
        self.env = env
        self.phase = "approach"
        self._episode = -1
        self._timer = 0

    def _start_episode(self) -> None:
        self._episode = self.env.episode
        self.phase = "approach"
        self._timer = 0
        lay = self.env.layout
        c, s = math.cos(lay.truck_yaw), math.sin(lay.truck_yaw)
        # outward normal of the truck side that faces the work area
        self._normal = -lay.truck_side * np.array([-s, c])
        centre = np.array([lay.truck_x, lay.truck_y])
        self._dump_point = centre + self._normal * (mdl.TRUCK_BED_HALF[1] + HINGE_TO_RIM)

    def _set(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            self._timer = 0

    # -- kinematics from the state ---------------------------------------------------------------
    @staticmethod
    def lip_from_state(s: np.ndarray) -> np.ndarray:
        """World lip position from the state (ignores roll and the front frame's own tilt)."""
        x, y, yaw, artic, boom, bucket = s[0], s[1], s[5], s[12], s[13], s[14]
        heading = yaw + artic
        bx, bz = mdl.BOOM_PIVOT
        lift = boom - s[4]  # ZYX pitch is nose-down positive; the boom angle is lift-positive
        reach = bx + mdl.BOOM_LENGTH * math.cos(lift)
        z = s[2] + bz + mdl.BOOM_LENGTH * math.sin(lift)
        theta = lift + bucket
        lx, lz = mdl.LIP
        reach += lx * math.cos(theta) - lz * math.sin(theta)
        z += lx * math.sin(theta) + lz * math.cos(theta)
        return np.array([x + reach * math.cos(heading), y + reach * math.sin(heading), z])

    def _pursuit(self, s: np.ndarray, target: np.ndarray, reverse: bool = False) -> float:
        """Articulation angle that steers the hinge towards ``target`` (pure pursuit)."""
        heading = s[5] + s[12] / 2.0 + (math.pi if reverse else 0.0)
        d = target - s[:2]
        dist = max(float(np.hypot(*d)), 1e-6)
        alpha = _wrap(math.atan2(d[1], d[0]) - heading)
        kappa = 2.0 * math.sin(alpha) / dist
        gamma = 2.0 * math.atan(kappa * HALF_WHEELBASE)
        return float(np.clip(-gamma if reverse else gamma, -0.68, 0.68))

    @staticmethod
    def _drive(s: np.ndarray, v_des: float, gear: float) -> tuple[float, float]:
        """(throttle, brake) that track the signed body speed ``v_des``."""
        v = s[6] * gear  # speed in the gear's direction
        target = abs(v_des)
        if target < 0.05:
            return 0.0, 1.0
        err = target - v
        if err >= 0:
            return float(np.clip(0.25 + 0.6 * err, 0.0, 1.0)), 0.0
        return 0.0, float(np.clip(-0.4 * err, 0.0, 1.0))

    # -- policy ------------------------------------------------------------------------------------
    def __call__(self, obs: dict) -> np.ndarray:
        if self.env.episode != self._episode:
            self._start_episode()
        s = np.asarray(obs["state"], dtype=np.float64)
        lay = self.env.layout
        pitch = s[4]
        boom, bucket, artic = s[13], s[14], s[12]
        payload = s[20]
        lip = self.lip_from_state(s)
        pile = np.array([lay.pile_x, lay.pile_y])
        self._timer += 1
        steer_to = artic
        boom_to, pitch_to = boom, boom + bucket - pitch
        gear, throttle, brake = 0.0, 0.0, 1.0

        if self.phase == "approach":
            steer_to = self._pursuit(s, pile)
            boom_to, pitch_to = APPROACH_BOOM, 0.0
            gear = 1.0
            into = lay.pile_radius - float(np.hypot(*(lip[:2] - pile)))
            throttle, brake = self._drive(s, 2.0 if into < -2.0 else 1.2, gear)
            if into > 0.0:
                self._set("penetrate")
        if self.phase == "penetrate":
            steer_to = self._pursuit(s, pile)
            boom_to, pitch_to = APPROACH_BOOM, 0.0
            gear, throttle, brake = 1.0, 0.7, 0.0
            into = lay.pile_radius - float(np.hypot(*(lip[:2] - pile)))
            if into > PENETRATION or self._timer > 30:
                self._set("curl")
        if self.phase == "curl":
            gear, throttle, brake = 1.0, 0.35, 0.0
            boom_to, pitch_to = boom + 0.05, CURL_PITCH + 0.1
            if boom + bucket - pitch >= CURL_PITCH or self._timer > 25:
                self._set("reverse")
        if self.phase == "reverse":
            gear = -1.0
            boom_to, pitch_to = CARRY_BOOM, CARRY_PITCH
            # opposite lock: swing the rear away from the truck so the front comes round to face it
            steer_to = -lay.truck_side * 0.68
            throttle, brake = self._drive(s, -2.0, gear)
            goal = self._dump_point + self._normal * 2.0
            heading = s[5] + artic / 2.0
            bearing = math.atan2(*(goal - s[:2])[::-1])
            if (abs(_wrap(bearing - heading)) < 0.3 and self._timer > 5) or self._timer > 80:
                self._set("to_truck")
        if self.phase == "to_truck":
            gear = 1.0
            boom_to, pitch_to = DUMP_BOOM, CARRY_PITCH
            # follow the line that meets the truck square on, looking LOOKAHEAD metres ahead
            rel = s[:2] - self._dump_point
            along = float(np.dot(rel, self._normal))  # metres still to go
            aim = self._dump_point + self._normal * max(along - LOOKAHEAD, 0.0)
            if along < LOOKAHEAD:
                aim = self._dump_point - self._normal * (LOOKAHEAD - along)
            steer_to = self._pursuit(s, aim)
            v_des = float(np.clip(0.7 * along, 0.0, 2.5))
            if boom < DUMP_BOOM - 0.25 and along < 3.0:
                v_des = 0.0  # wait for the boom before the bucket reaches the rim
            throttle, brake = self._drive(s, v_des, gear)
            if along < 0.1 or (along < 0.6 and abs(s[6]) < 0.05 and boom > DUMP_BOOM - 0.05):
                self._set("dump")
        if self.phase == "dump":
            gear, throttle, brake = 0.0, 0.3, 1.0
            boom_to, pitch_to = DUMP_BOOM, DUMP_PITCH
            if payload < 50.0 and self._timer > 5:
                self._set("back_off")
        if self.phase == "back_off":
            # back out of the truck and swing round to face the pile for the next bucket
            gear = -1.0
            boom_to, pitch_to = (DUMP_BOOM if self._timer < 8 else APPROACH_BOOM), 0.0
            steer_to = 0.0 if self._timer < 8 else lay.truck_side * 0.68
            throttle, brake = self._drive(s, -1.5, gear)
            heading = s[5] + artic / 2.0
            bearing = math.atan2(*(pile - s[:2])[::-1])
            if (abs(_wrap(bearing - heading)) < 0.3 and self._timer > 8) or self._timer > 80:
                self._set("approach")

        steering = _rate(steer_to - artic, mdl.STEER_RATE, tau=0.3)
        boom_cmd = _rate(boom_to - boom, mdl.BOOM_RATE)
        bucket_cmd = _rate(pitch_to - (boom + bucket - pitch), mdl.BUCKET_RATE)
        return np.array([throttle, steering, boom_cmd, bucket_cmd, brake, gear], dtype=np.float64)
