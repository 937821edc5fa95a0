"""Closed-loop rollouts: a bundle's Policy drives a simulated env, chunk by chunk.

The policy predicts an action chunk from the current observation; the first ``execute_steps``
actions run open loop, then it re-plans (receding horizon, ActionBuffer ``chunk`` mode). An episode
ends at the first success, at termination, or after ``max_steps`` control steps.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from librobot.choices import ActionMode
from librobot.evaluation.video import tile_cameras
from librobot.inference.action_buffer import ActionBuffer
from librobot.inference.policy import Policy
from librobot.robots import RobotSpec
from librobot.sim import Env


class RobotMismatchError(ValueError):
    """The bundle was trained for another robot than the one the environment simulates."""


def check_robot_matches(
    bundle_robot: RobotSpec, env_robot: RobotSpec, env_name: str, state_source: Sequence[str] | None = None
) -> list[int] | None:
    """Refuse a bundle whose normalization.json robot disagrees with the env's (names, order, dims).

    ``state_source``: the env/dataset state features the bundle's state was selected from
    (``data.state_features``, e.g. proprioception only); then the env must have each of them, and the
    returned index picks them out of the env's state. None: the same robot, the same layout.
    """
    if state_source is not None:
        missing = [n for n in state_source if n not in env_robot.state_names]
        if missing:
            raise RobotMismatchError(
                f"the bundle's state is selected from {list(state_source)}; env {env_name!r} has no {missing} "
                f"(its state: {env_robot.state_names})"
            )
        same_state = dataclasses.replace(bundle_robot, name=env_robot.name, state=env_robot.state)
        check_robot_matches(same_state, env_robot, env_name)  # the actions must still be the env's
        return [env_robot.state_names.index(n) for n in state_source]
    problems = []
    if bundle_robot.name != env_robot.name:
        problems.append(f"robot name {bundle_robot.name!r} vs {env_robot.name!r}")
    for kind in ("state", "action"):
        ours = getattr(bundle_robot, f"{kind}_names")
        theirs = getattr(env_robot, f"{kind}_names")
        if ours != theirs:
            missing = [n for n in theirs if n not in ours]
            extra = [n for n in ours if n not in theirs]
            detail = f"{len(ours)} vs {len(theirs)} values"
            if missing or extra:
                detail += f"; env has {missing[:4]} the bundle lacks, bundle has {extra[:4]} the env lacks"
            else:
                detail += "; same names in another order"
            problems.append(f"{kind} features differ ({detail})")
    if problems:
        raise RobotMismatchError(
            f"the bundle's robot {bundle_robot.name!r} (normalization.json) does not match env {env_name!r}, "
            f"which simulates {env_robot.name!r}: {'; '.join(problems)}. Evaluate the bundle in the simulator "
            "its data came from (eval.env / --env)"
        )
    return None


@dataclass
class Episode:
    task: str
    seed: int
    success: bool
    length: int  # control steps taken
    return_: float
    inference_s: float  # time spent predicting chunks
    chunks: int
    frames: list[np.ndarray] = field(default_factory=list, repr=False)  # only when recording video
    # numeric env-specific outcomes of the last step's info (e.g. the wheel loader's delivered_kg)
    metrics: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "success": self.success,
            "length": self.length,
            "return": round(self.return_, 4),
            "chunks": self.chunks,
            "inference_ms_per_chunk": round(1000 * self.inference_s / max(1, self.chunks), 2),
            **{k: round(v, 4) for k, v in self.metrics.items()},
        }


def info_metrics(info: dict[str, Any]) -> dict[str, float]:
    """The float outcomes an env reports in ``info`` (counters and flags excluded)."""
    return {k: float(v) for k, v in info.items() if isinstance(v, float | np.floating) and k != "success"}


def run_episode(
    env: Env,
    policy: Policy,
    seed: int,
    execute_steps: int,
    max_steps: int | None = None,
    record: bool = False,
    action_mode: str = "chunk",
    ensemble_decay: float = 0.01,
    state_index: Sequence[int] | None = None,
) -> Episode:
    """One episode of ``policy`` in ``env`` from ``env.reset(seed)``; noise seeded per (seed, step).

    ``action_mode``: ``chunk`` (execute ``execute_steps`` actions per chunk) or ``ensemble`` (ACT's
    temporal ensembling: a chunk every step, see ``ActionBuffer``). ``state_index``: the env state
    features the policy reads (``check_robot_matches``), None for all of them.
    """
    if execute_steps < 1 or execute_steps > policy.action_horizon:
        raise ValueError(
            f"eval.execute_steps must be in [1, {policy.action_horizon}] (the bundle's action horizon), got {execute_steps}"
        )
    limit = int(max_steps or env.max_steps)
    ActionMode.parse(action_mode, "eval.action_mode")
    buffer = ActionBuffer(execute_steps, mode=action_mode, ensemble_decay=ensemble_decay)
    policy.reset()
    obs = env.reset(seed)
    cameras = list(env.camera_names)
    frames = [tile_cameras(obs["images"], cameras)] if record else []
    total, success, steps, chunks, infer_s = 0.0, False, 0, 0, 0.0
    info: dict[str, Any] = {}
    for step in range(limit):
        if buffer.needs_chunk():
            started = time.perf_counter()
            seen = obs if state_index is None else {**obs, "state": np.asarray(obs["state"])[..., list(state_index)]}
            chunk = policy.act(seen, seed=seed * 100_003 + step)
            infer_s += time.perf_counter() - started
            chunks += 1
            buffer.add(chunk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # simulators warn about their own internals each step
            obs, reward, terminated, truncated, info = env.step(buffer.pop())
        steps = step + 1
        total += float(reward)
        if record:
            frames.append(tile_cameras(obs["images"], cameras))
        if info.get("success"):
            success = True
            break
        if terminated or truncated:
            break
    return Episode(env.task, seed, success, steps, total, infer_s, chunks, frames, info_metrics(info))
