"""The simulated wheel loader task: load gravel from a pile into a truck (MuJoCo).

One MjModel, MjData and Renderer per environment, compiled once. A seed moves the pile and the
truck by changing model fields; ``reset`` first restores every field that a step or a seed may
change, so a seed replays bitwise, fresh or reused env.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import numpy as np

from librobot.robots import load_robot
from librobot.robots.spec import Camera, RobotSpec
from librobot.sim.wheel_loader import engine as eng
from librobot.sim.wheel_loader import model as mdl
from librobot.sim.wheel_loader.expert import PHASES, WheelLoaderExpert
from librobot.sim.wheel_loader.layout import TARGET_NAMES, Layout, sample_layout, yaw_quat
from librobot.sim.wheel_loader.material import CAPACITY, BedGeometry, Material

INSTRUCTION = "load gravel from the pile into the truck"
CONTROL_HZ = 10.0
SETTLE_STEPS = 30  # physics steps at reset so the machine rests on its tyres
START_BOOM = -0.35


def quat_to_rpy(quat: np.ndarray) -> tuple[float, float, float]:
    """ZYX Euler angles (roll, pitch, yaw) of a MuJoCo (w, x, y, z) quaternion."""
    w, x, y, z = (float(v) for v in quat)
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def _pitch_of(xmat: np.ndarray) -> float:
    """World pitch of a body's x axis (rad; + = pointing up)."""
    ax = xmat.reshape(3, 3)[:, 0]
    return math.atan2(ax[2], math.hypot(ax[0], ax[1]))


class WheelLoaderEnv:
    """Gym-like env following the ``librobot.sim`` contract (see docs/wheel_loader.md)."""

    task = "wheel_loader_truck_loading"
    instruction = INSTRUCTION
    phase_names = PHASES  # every value info["phase"] takes (besides "" when no expert acts)

    def __init__(
        self,
        image_size: int = 96,
        cameras: Sequence[str] | None = None,
        render: bool = True,
        include_targets: bool = False,
        max_steps: int = 400,
        success_kg: float = 2400.0,
    ):
        os.environ.setdefault("MUJOCO_GL", "egl")
        import mujoco

        self._mj = mujoco
        spec = load_robot("wheel_loader")
        size = int(image_size)
        if size < 16:
            raise ValueError(f"image_size must be at least 16 px, got {image_size}")
        known = spec.camera_names
        chosen = list(known if cameras is None else cameras) if render else []
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise ValueError(f"cameras {unknown} are not on the wheel loader; known cameras: {known}")
        self.robot: RobotSpec = dataclasses.replace(spec, cameras=tuple(Camera(c, size, size) for c in chosen))
        self.camera_names = chosen
        self.image_size = size
        self.include_targets = bool(include_targets)
        self.target_names = list(TARGET_NAMES)
        self.max_steps = int(max_steps)
        self.success_kg = float(success_kg)
        self._action_low, self._action_high = spec.bounds("action")

        self.model = mujoco.MjModel.from_xml_string(mdl.build_xml(size))
        self.data = mujoco.MjData(self.model)
        self._substeps = int(round(1.0 / (CONTROL_HZ * self.model.opt.timestep)))
        self._renderer = mujoco.Renderer(self.model, size, size) if chosen else None
        self._ids()
        # every model field a seed or a step changes, as compiled; restored on each reset
        self._pristine = {name: getattr(self.model, name).copy() for name in self._CHANGED_FIELDS}
        self.engine = eng.Engine()
        self.layout: Layout | None = None
        self.material: Material | None = None
        self.episode = 0  # counts resets; experts use it to notice a new episode
        self._steps = 0
        self._expert = None

    _CHANGED_FIELDS = (
        "geom_size",
        "geom_pos",
        "geom_rgba",
        "body_pos",
        "body_quat",
        "body_mass",
        "actuator_forcerange",
        "dof_frictionloss",
    )

    def _ids(self) -> None:
        mj, m = self._mj, self.model

        def oid(kind, name):
            return mj.mj_name2id(m, kind, name)

        self._rear = oid(mj.mjtObj.mjOBJ_BODY, "rear")
        self._front = oid(mj.mjtObj.mjOBJ_BODY, "front")
        self._bucket = oid(mj.mjtObj.mjOBJ_BODY, "bucket")
        self._truck = oid(mj.mjtObj.mjOBJ_BODY, "truck")
        self._pile = oid(mj.mjtObj.mjOBJ_GEOM, "pile")
        self._payload = oid(mj.mjtObj.mjOBJ_GEOM, "payload")
        self._truck_load = oid(mj.mjtObj.mjOBJ_GEOM, "truck_load")
        self._lip = oid(mj.mjtObj.mjOBJ_SITE, "lip")
        joints = ["artic", "boom", "bucket", *mdl.WHEELS]
        self._qadr = {j: int(m.jnt_qposadr[oid(mj.mjtObj.mjOBJ_JOINT, j)]) for j in joints}
        self._dadr = {j: int(m.jnt_dofadr[oid(mj.mjtObj.mjOBJ_JOINT, j)]) for j in joints}
        self._hyd = [oid(mj.mjtObj.mjOBJ_ACTUATOR, a) for a in ("steer", "boom", "bucket")]
        self._drives = [oid(mj.mjtObj.mjOBJ_ACTUATOR, f"drive_{w[6:]}") for w in mdl.WHEELS]
        self._wheel_dofs = [self._dadr[w] for w in mdl.WHEELS]
        self._hyd_dofs = [self._dadr[j] for j in ("artic", "boom", "bucket")]
        self._bucket_mass = float(m.body_mass[self._bucket])
        self._payload_z0 = float(m.geom_pos[self._payload][2])
        self._load_z0 = float(m.geom_pos[self._truck_load][2])

    # -- episode --------------------------------------------------------------------------------------
    def reset(self, seed: int = 0) -> dict:
        mj, m, d = self._mj, self.model, self.data
        for name, value in self._pristine.items():
            getattr(m, name)[:] = value
        layout = sample_layout(int(seed))
        self.layout = layout
        m.geom_pos[self._pile] = (layout.pile_x, layout.pile_y, 0.0)
        m.geom_size[self._pile] = (layout.pile_radius, layout.pile_radius, layout.pile_height)
        m.body_pos[self._truck] = (layout.truck_x, layout.truck_y, 0.0)
        m.body_quat[self._truck] = yaw_quat(layout.truck_yaw)
        bed = BedGeometry(layout.truck_x, layout.truck_y, layout.truck_yaw, *mdl.TRUCK_BED_HALF, mdl.TRUCK_RIM)
        self.material = Material(layout.pile_x, layout.pile_y, layout.pile_radius, layout.pile_height, bed)

        mj.mj_resetData(m, d)
        d.qpos[0:3] = (layout.start_x, layout.start_y, mdl.HINGE_HEIGHT)
        d.qpos[3:7] = yaw_quat(layout.start_yaw)
        d.qpos[self._qadr["boom"]] = START_BOOM
        d.qpos[self._qadr["bucket"]] = -START_BOOM  # bucket level
        d.act[:] = (0.0, START_BOOM, -START_BOOM)  # hydraulics hold where they start
        mj.mj_forward(m, d)
        mj.mj_step(m, d, nstep=SETTLE_STEPS)
        self.engine.reset()
        self._steps = 0
        self._delivered_kg = 0.0
        self._loads = (0.0, 0.0)
        self.episode += 1
        self._update_visuals()
        return self._observation()

    def step(self, action) -> tuple[dict, float, bool, bool, dict]:
        if self.material is None:
            raise RuntimeError("call reset(seed) before step(action)")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        self.robot.check_dim(a, "action")
        bad = np.isnan(a)
        if bad.any():
            names = [self.robot.action_names[i] for i in np.flatnonzero(bad)]
            raise ValueError(f"action has NaN in {names}; every one of {self.robot.action_names} must be a number")
        clipped = int(np.count_nonzero((a < self._action_low) | (a > self._action_high)))
        a = np.clip(a, self._action_low, self._action_high)
        throttle, steering, boom, bucket, brake, gear_cmd = a
        gear = 1.0 if gear_cmd > 0.5 else (-1.0 if gear_cmd < -0.5 else 0.0)

        mj, m, d = self._mj, self.model, self.data
        dt = self._substeps * m.opt.timestep
        self.engine.advance(throttle, *self._loads, dt=dt, substeps=self._substeps)
        d.ctrl[self._hyd] = (steering * mdl.STEER_RATE, boom * mdl.BOOM_RATE, bucket * mdl.BUCKET_RATE)
        # the drive is declutched in proportion to the brake, and fully in neutral
        cap = mdl.WHEEL_TORQUE_MAX * (1.0 - brake) * abs(gear)
        d.ctrl[self._drives] = gear * self.engine.omega / mdl.DRIVE_RATIO
        m.actuator_forcerange[self._drives] = (-cap, cap)
        m.dof_frictionloss[self._wheel_dofs] = brake * mdl.BRAKE_TORQUE

        lip_before = d.site_xpos[self._lip].copy()
        tilt_before = _pitch_of(d.xmat[self._bucket])
        mj.mj_step(m, d, nstep=self._substeps)
        lip_after = d.site_xpos[self._lip].copy()
        tilt = _pitch_of(d.xmat[self._bucket])
        front = d.xmat[self._front].reshape(3, 3)[:, 0]
        heading = np.array([front[0], front[1]]) / max(math.hypot(front[0], front[1]), 1e-9)
        mat = self.material
        mat.update(lip_before, lip_after, heading, tilt, tilt - tilt_before, dt)
        # digging resists the bucket for the next step; the payload rides in the bucket
        d.xfrc_applied[self._bucket, :3] = mat.dig_force((lip_after - lip_before) / dt)
        m.body_mass[self._bucket] = self._bucket_mass + mat.payload_kg
        self._loads = self._driveline_loads()
        self._update_visuals()

        self._steps += 1
        reward = (mat.delivered_kg - self._delivered_kg) / 1000.0
        self._delivered_kg = mat.delivered_kg
        success = mat.delivered_kg >= self.success_kg
        truncated = self._steps >= self.max_steps and not success
        info = {
            "success": bool(success),
            "delivered_kg": float(mat.delivered_kg),
            "spilled_kg": float(mat.spilled_kg),
            "payload_kg": float(mat.payload_kg),
            "phase": self._expert.phase if self._expert is not None else "",
            "clipped": clipped,
        }
        return self._observation(), float(reward), bool(success), bool(truncated), info

    def expert(self):
        """A fresh scripted expert for this env (its ``.phase`` also goes into ``info["phase"]``)."""
        self._expert = WheelLoaderExpert(self)
        return self._expert

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # -- internals ---------------------------------------------------------------------------------------
    def _driveline_loads(self) -> tuple[float, float]:
        """(crankshaft torque of the drive, N*m; hydraulic power, W) for the engine's next step."""
        d = self.data
        drive = float(np.abs(d.actuator_force[self._drives]).sum()) / mdl.DRIVE_RATIO
        hyd = float(np.abs(d.actuator_force[self._hyd] * d.qvel[self._hyd_dofs]).sum())
        return drive, hyd

    def _update_visuals(self) -> None:
        m, mat = self.model, self.material
        m.geom_size[self._pile][2] = mat.pile_height
        share = mat.fill / CAPACITY
        half = max(0.01, 0.25 * share)
        m.geom_size[self._payload][2] = half
        m.geom_pos[self._payload][2] = self._payload_z0 + half
        m.geom_rgba[self._payload][3] = 1.0 if share > 0.02 else 0.0
        layer = max(0.01, 0.2 * mat.delivered / CAPACITY)
        m.geom_size[self._truck_load][2] = layer
        m.geom_pos[self._truck_load][2] = self._load_z0 + layer

    def state(self) -> np.ndarray:
        """The 22-D state in the robot spec's order and units."""
        d, q, v = self.data, self._qadr, self._dadr
        pos = d.xpos[self._rear]
        roll, pitch, yaw = quat_to_rpy(d.xquat[self._rear])
        rot = d.xmat[self._rear].reshape(3, 3)
        lin = rot.T @ d.qvel[0:3]  # the free joint's linear velocity is in world axes
        ang = d.qvel[3:6]  # ... and its angular velocity in body axes
        wheel_speed = float(np.mean(d.qvel[self._wheel_dofs]))
        joints = ("artic", "boom", "bucket")
        return np.concatenate(
            [
                pos,
                (roll, pitch, yaw),
                lin,
                ang,
                [d.qpos[q[j]] for j in joints],
                [d.qvel[v[j]] for j in joints],
                (self.engine.rpm, self.engine.torque, self.material.payload_kg, wheel_speed),
            ]
        ).astype(np.float64)

    def _observation(self) -> dict:
        obs = {"images": self.render(), "state": self.state(), "instruction": self.instruction}
        if self.include_targets:
            obs["targets"] = self.layout.targets(self.material.pile_height)
        return obs

    def render(self) -> dict[str, np.ndarray]:
        images = {}
        for cam in self.camera_names:
            self._renderer.update_scene(self.data, camera=cam)
            images[cam] = self._renderer.render().copy()
        return images

    # facts an expert or a test may read
    @property
    def lip_position(self) -> np.ndarray:
        return self.data.site_xpos[self._lip].copy()

    @property
    def bucket_pitch(self) -> float:
        return _pitch_of(self.data.xmat[self._bucket])

    @property
    def steps(self) -> int:
        return self._steps
