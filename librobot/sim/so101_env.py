"""SO-101 pick-and-place (package ``lerobot-env-so101``) with its scripted controller, per the env contract.

The arm's meshes (~160k vertices) make software rendering the cost of a step (~0.15 s a frame here,
against ~0.05 s of physics + IK), so shadows and MSAA are off and one Renderer is reused;
``cameras=()`` records state only (and runs ~4x faster).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from librobot.registry import register_env
from librobot.robots.so101_sim import SO101_SIM
from librobot.robots.spec import Camera


@register_env("so101_pick_place", aliases=["so101"])
class SO101PickPlaceEnv:
    def __init__(
        self,
        image_size: int = 128,
        max_steps: int = 300,
        random_block_position: bool = True,
        cameras: Sequence[str] = ("front",),
    ):
        os.environ.setdefault("MUJOCO_GL", "egl")
        import mujoco
        from lerobot_env_so101 import SO101PickPlaceGymEnv

        unknown = [c for c in cameras if c != "front"]
        if unknown:
            raise ValueError(f"so101_pick_place has one camera, 'front'; got {list(cameras)}")
        self.task = "so101_pick_place"
        self.instruction = "pick up the cube and place it on the goal"
        self.max_steps = int(max_steps)
        self._env = SO101PickPlaceGymEnv(random_block_position=random_block_position)
        model = self._env._model
        model.light_castshadow[:] = 0
        model.vis.quality.offsamples = 0
        self.camera_names = list(cameras)
        self.robot = dataclasses.replace(
            SO101_SIM, cameras=tuple(Camera(c, image_size, image_size) for c in self.camera_names)
        )
        self._renderer = mujoco.Renderer(model, image_size, image_size) if self.camera_names else None
        self._camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "front")
        self._steps = 0

    def _obs(self, raw: dict[str, np.ndarray]) -> dict[str, Any]:
        images = {}
        if self._renderer is not None:
            self._renderer.update_scene(self._env._data, camera=self._camera_id)
            images["front"] = self._renderer.render().copy()
        block = self._env._data.sensor("block_pos").data
        state = np.concatenate([raw["agent_pos"], block, self._env.goal_pos]).astype(np.float64)
        return {"images": images, "state": state, "instruction": self.instruction}

    def reset(self, seed: int) -> dict[str, Any]:
        raw, _ = self._env.reset(seed=int(seed))
        self._steps = 0
        return self._obs(raw)

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        self.robot.check_dim(action, "action")
        low, high = self.robot.bounds("action")
        raw, reward, terminated, truncated, info = self._env.step(np.clip(action, low, high).astype(np.float32))
        self._steps += 1
        success = bool(info.get("succeed", False))
        truncated = bool(truncated) or self._steps >= self.max_steps
        return self._obs(raw), float(reward), bool(terminated), truncated, {"success": success}

    def expert(self):
        from lerobot_env_so101.scripted import PickPlaceController

        env = self._env
        controller = PickPlaceController(env._action_scale)

        class Expert:
            """The package's phase controller; it reads the grasp point the IK moves from the sim."""

            @property
            def phase(self) -> str:
                return controller.phase.name.lower()

            def __call__(self, obs: dict[str, Any]) -> np.ndarray:
                state = obs["state"]
                return controller.act(env.ik_point_pos, state[-6:-3], state[-3:]).astype(np.float64)

        return Expert()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._env.close()
