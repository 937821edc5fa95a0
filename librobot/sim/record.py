"""Record scripted-expert episodes of any registered env into a LeRobot v3 dataset.

Each (env name, kwargs) job gets ``episodes`` successful episodes (failed attempts are dropped
unless ``keep_failed``), seeded ``seed + 10_000 * job + attempt`` so a recording is reproducible and
the seed of every episode is stored in its episode row for replay in evaluation.

Optional per-env extras, written when the env offers them:
- ``phase`` (int64 [1]): the index of the expert's phase at each step (``info["phase"]``) in
  ``env.phase_names``, which ``info.json["librobot"]["phase_names"]`` lists, for envs with ``phase_names``
  (the wheel loader); phase-aware analysis and per-phase metrics read it, policies do not.
- ``observation.targets`` (float32, names ``env.target_names``): ``obs["targets"]`` of envs built with
  ``include_targets=True``: task-layout poses for a state-only baseline, kept apart from the state.

With ``action_noise`` (``ActionNoise``, DART) the env executes a perturbed action while ``action``
stores the expert's clean one; ``info.json["librobot"]["action_noise"]`` records the settings.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec
from librobot.logging import get_logger
from librobot.progress import Progress
from librobot.sim import make_env
from librobot.sim.action_noise import ActionNoise

log = get_logger("sim.record")


class RecordingError(ValueError):
    """The expert could not produce the requested episodes."""


@dataclass
class RecordJob:
    env: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordResult:
    path: Path
    episodes: int
    frames: int
    attempts: int
    success_rate: dict[str, float]


def record_episode(env: Any, seed: int, action_noise: ActionNoise | None = None) -> tuple[dict[str, list], bool]:
    """Roll the env's expert out once: per-step images, state, action, reward; returns (steps, success).

    ``action`` is always the expert's own; with ``action_noise`` the env executes a perturbed copy.
    """
    obs = env.reset(seed)
    expert = env.expert()
    perturb = None
    if action_noise is not None:
        perturb = action_noise.sampler(env.robot.action_names, env.robot.bounds("action"), seed)
    steps: dict[str, list] = {"state": [], "action": [], "reward": [], "images": {c: [] for c in env.camera_names}}
    phases = _phase_index(env)
    if phases is not None:
        steps["phase"] = []
    if _has_targets(env):
        steps["targets"] = []
    success = False
    for _ in range(env.max_steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MetaWorld's experts warn about their own gains every step
            action = np.asarray(expert(obs), dtype=np.float64)
        steps["state"].append(obs["state"])
        if "targets" in steps:
            steps["targets"].append(obs["targets"])
        for cam in env.camera_names:
            steps["images"][cam].append(obs["images"][cam])
        obs, reward, terminated, truncated, info = env.step(action if perturb is None else perturb(action))
        steps["action"].append(action)
        steps["reward"].append(reward)
        if phases is not None:
            steps["phase"].append(_encode_phase(phases, info.get("phase", "")))
        if info.get("success"):
            success = True
            break
        if terminated or truncated:
            break
    return steps, success


def _phase_index(env: Any) -> dict[str, int] | None:
    names = getattr(env, "phase_names", None)
    return {name: i for i, name in enumerate(names)} if names else None


def _encode_phase(index: dict[str, int], phase: str) -> int:
    if phase not in index:
        raise RecordingError(f"info['phase'] is {phase!r}; the env's phase_names are {list(index)}")
    return index[phase]


def _has_targets(env: Any) -> bool:
    return bool(getattr(env, "include_targets", False)) and bool(getattr(env, "target_names", None))


def record_dataset(
    out: str | os.PathLike,
    jobs: Sequence[RecordJob],
    episodes: int,
    seed: int = 0,
    keep_failed: bool = False,
    max_attempts: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    action_noise: ActionNoise | None = None,
    **writer_kwargs: Any,
) -> RecordResult:
    """Write ``episodes`` expert episodes per job to ``out``; all jobs must share one robot."""
    if not jobs:
        raise ValueError("record_dataset: no env jobs given")
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    max_attempts = max_attempts or 3 * episodes
    writer = None
    robot = None
    attempts_total = 0
    rates: dict[str, float] = {}
    bar = Progress(episodes * len(jobs), "record", "episode", enabled=progress)
    try:
        with bar:
            for j, job in enumerate(jobs):
                env = make_env(job.env, **job.kwargs)
                try:
                    if robot is None:
                        robot = env.robot
                        writer = _open_writer(out, env, job, jobs, overwrite, action_noise, writer_kwargs)
                    elif robot.state_names != env.robot.state_names or robot.action_names != env.robot.action_names:
                        raise ValueError(
                            f"job {job.env} {job.kwargs}: robot {env.robot.name} differs from {robot.name}"
                        )
                    kept = tries = successes = 0
                    while kept < episodes and tries < max_attempts:
                        ep_seed = seed + 10_000 * j + tries
                        tries += 1
                        steps, success = record_episode(env, ep_seed, action_noise)
                        successes += success
                        if not success and not keep_failed:
                            log.debug("%s seed %d failed; dropped", env.task, ep_seed)
                            continue
                        _add(writer, env, job, steps, success, ep_seed)
                        kept += 1
                        bar.update(1)
                    attempts_total += tries
                    rates[env.task] = successes / tries
                    if kept < episodes:
                        raise RecordingError(
                            f"{job.env} {job.kwargs}: only {kept} of {episodes} episodes succeeded in {tries} attempts"
                        )
                finally:
                    env.close()
        path = writer.finalize()
    except BaseException:
        if writer is not None:
            writer._close_files()
        raise
    return RecordResult(Path(path), len(writer.episodes), writer.total_frames, attempts_total, rates)


def _open_writer(
    out,
    env,
    job: RecordJob,
    jobs: Sequence[RecordJob],
    overwrite: bool,
    action_noise: ActionNoise | None,
    kwargs: Mapping[str, Any],
):
    robot = env.robot
    features = {
        "observation.state": feature_spec(robot.state_names),
        "action": feature_spec(robot.action_names),
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.success": {"dtype": "bool", "shape": [1], "names": None},
    }
    if _has_targets(env):
        features["observation.targets"] = feature_spec(env.target_names)
    cameras = {c.name: (c.height, c.width) for c in robot.cameras if c.name in env.camera_names}
    provenance = {
        "env": job.env,
        "env_kwargs": dict(job.kwargs),
        "envs": [{"env": jb.env, "env_kwargs": dict(jb.kwargs)} for jb in jobs],
        "robot": robot.to_dict(),
    }
    if action_noise is not None:
        provenance["action_noise"] = action_noise.to_dict()
    if _phase_index(env) is not None:
        features["phase"] = {"dtype": "int64", "shape": [1], "names": None}
        provenance["phase_names"] = list(env.phase_names)
    return LeRobotV3Writer(
        out,
        fps=robot.fps,
        features=features,
        cameras=cameras,
        robot_type=robot.name,
        librobot=provenance,
        overwrite=overwrite,
        **kwargs,
    )


def _add(writer: LeRobotV3Writer, env: Any, job: RecordJob, steps: dict, success: bool, seed: int) -> None:
    n = len(steps["action"])
    done = np.zeros(n, dtype=bool)
    done[-1] = success
    data = {
        "observation.state": np.stack(steps["state"]),
        "action": np.stack(steps["action"]),
        "next.reward": np.asarray(steps["reward"], dtype=np.float32),
        "next.success": done,
    }
    if "phase" in steps:
        data["phase"] = np.asarray(steps["phase"], dtype=np.int64)
    if "targets" in steps:
        data["observation.targets"] = np.stack(steps["targets"])
    writer.add_episode(
        env.instruction,
        data,
        {cam: np.stack(frames) for cam, frames in steps["images"].items()},
        episode_meta={"librobot/seed": seed, "librobot/env": job.env, "librobot/env_kwargs": json.dumps(job.kwargs)},
    )
