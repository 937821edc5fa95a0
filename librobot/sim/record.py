"""Record scripted-expert episodes of any registered env into a LeRobot v3 dataset.

Each (env name, kwargs) job gets ``episodes`` successful episodes, or its own ``RecordJob.episodes``
(failed attempts are dropped unless ``keep_failed``), seeded ``seed + 10_000 * job + attempt`` so a
recording is reproducible and the seed of every episode is stored in its episode row for replay in
evaluation.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec
from librobot.logging import get_logger
from librobot.parallel import report, run_in_processes
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
    episodes: int | None = None  # this job's successful episodes; None: record_dataset's ``episodes``
    noise_scale: float = 1.0  # times record_dataset's ``action_noise`` sigmas for this job; 0: records clean


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
    workers: int = 1,
    **writer_kwargs: Any,
) -> RecordResult:
    """Write ``episodes`` expert episodes per job to ``out``; all jobs must share one robot.

    ``workers`` > 1 records that many jobs at once in spawned processes (``librobot.parallel``); the
    episodes are seeded per job and written in job order, so the dataset is the one a single process
    writes. One job (e.g. the wheel loader) always records in this process.
    """
    if not jobs:
        raise ValueError("record_dataset: no env jobs given")
    for count, name in [(episodes, "episodes"), *((jb.episodes, f"episodes of {jb.kwargs}") for jb in jobs)]:
        if count is not None and count < 1:
            raise ValueError(f"{name} must be >= 1, got {count}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (processes recording tasks side by side), got {workers}")
    plan = _JobPlan(episodes, seed, keep_failed, max_attempts, action_noise)
    recording = _Recording(out, jobs, overwrite, action_noise, writer_kwargs)
    bar = Progress(sum(plan.wanted(jb) for jb in jobs), "record", "episode", enabled=progress)
    try:
        with bar:
            if workers == 1 or len(jobs) == 1:
                for j, job in enumerate(jobs):
                    env = make_env(job.env, **job.kwargs)
                    try:
                        recording.begin(env, job)
                        write = partial(recording.add, env, job, bar=bar)
                        outcome = _record_job(env, j, job, plan, write)
                    finally:
                        env.close()
                    recording.finish(job, outcome)
            else:
                _record_in_workers(recording, jobs, plan, min(workers, len(jobs)), bar)
        path = recording.writer.finalize()
    except BaseException:
        if recording.writer is not None:
            recording.writer._close_files()
        raise
    writer = recording.writer
    return RecordResult(Path(path), len(writer.episodes), writer.total_frames, recording.attempts, recording.rates)


@dataclass
class _JobPlan:
    episodes: int  # per job, unless the job sets its own
    seed: int
    keep_failed: bool
    max_attempts: int | None  # per job; None: 3x its episodes
    action_noise: ActionNoise | None

    def wanted(self, job: RecordJob) -> int:
        return job.episodes or self.episodes

    def noise_for(self, job: RecordJob) -> ActionNoise | None:
        if self.action_noise is None or job.noise_scale == 0:
            return None
        return self.action_noise.scaled(job.noise_scale)


@dataclass
class _JobOutcome:
    task: str
    wanted: int
    tries: int
    successes: int
    kept: int


def _record_job(
    env: Any, j: int, job: RecordJob, plan: _JobPlan, emit: Callable[[dict, bool, int], None]
) -> _JobOutcome:
    """Attempts of job ``j`` (seeds ``seed + 10_000 j + attempt``) until it has its episodes; ``emit`` each kept one."""
    wanted = plan.wanted(job)
    kept = tries = successes = 0
    while kept < wanted and tries < (plan.max_attempts or 3 * wanted):
        ep_seed = plan.seed + 10_000 * j + tries
        tries += 1
        steps, success = record_episode(env, ep_seed, plan.noise_for(job))
        successes += success
        if not success and not plan.keep_failed:
            log.debug("%s seed %d failed; dropped", env.task, ep_seed)
            continue
        emit(steps, success, ep_seed)
        kept += 1
    return _JobOutcome(env.task, wanted, tries, successes, kept)


def _record_job_in_worker(job: RecordJob, j: int, plan: _JobPlan) -> tuple[_JobOutcome, list[tuple[dict, bool, int]]]:
    env = make_env(job.env, **job.kwargs)
    try:
        recorded: list[tuple[dict, bool, int]] = []

        def keep(steps: dict, success: bool, ep_seed: int) -> None:
            recorded.append((steps, success, ep_seed))
            report(1)  # the caller's progress bar

        return _record_job(env, j, job, plan, keep), recorded
    finally:
        env.close()


def _record_in_workers(
    recording: _Recording, jobs: Sequence[RecordJob], plan: _JobPlan, workers: int, bar: Progress
) -> None:
    """Jobs recorded ``workers`` at a time; each written here, in job order, once those before it are."""
    done: dict[int, tuple[_JobOutcome, list[tuple[dict, bool, int]]]] = {}
    written = 0

    def write_ready(j: int, result: tuple[_JobOutcome, list[tuple[dict, bool, int]]]) -> None:
        nonlocal written
        done[j] = result
        while written in done:
            outcome, recorded = done.pop(written)
            job = jobs[written]
            env = make_env(job.env, **job.kwargs)  # this process's copy: the robot, cameras and instruction to write
            try:
                recording.begin(env, job)
                for steps, success, ep_seed in recorded:
                    recording.add(env, job, steps, success, ep_seed)
            finally:
                env.close()
            recording.finish(job, outcome)
            written += 1

    run_in_processes(
        _record_job_in_worker, [(job, j, plan) for j, job in enumerate(jobs)], workers, write_ready, bar.update
    )


class _Recording:
    """The dataset being written: one writer for all jobs, which must share its robot."""

    def __init__(
        self,
        out: str | os.PathLike,
        jobs: Sequence[RecordJob],
        overwrite: bool,
        action_noise: ActionNoise | None,
        writer_kwargs: Mapping[str, Any],
    ):
        self.out, self.jobs, self.overwrite = out, jobs, overwrite
        self.action_noise, self.writer_kwargs = action_noise, writer_kwargs
        self.writer: LeRobotV3Writer | None = None
        self.robot: Any = None
        self.attempts = 0
        self.rates: dict[str, float] = {}

    def begin(self, env: Any, job: RecordJob) -> None:
        if self.robot is None:
            self.robot = env.robot
            self.writer = _open_writer(
                self.out, env, job, self.jobs, self.overwrite, self.action_noise, self.writer_kwargs
            )
        elif self.robot.state_names != env.robot.state_names or self.robot.action_names != env.robot.action_names:
            raise ValueError(f"job {job.env} {job.kwargs}: robot {env.robot.name} differs from {self.robot.name}")

    def add(
        self, env: Any, job: RecordJob, steps: dict, success: bool, ep_seed: int, bar: Progress | None = None
    ) -> None:
        assert self.writer is not None  # begin() opened it
        _add(self.writer, env, job, steps, success, ep_seed)
        if bar is not None:
            bar.update(1)

    def finish(self, job: RecordJob, outcome: _JobOutcome) -> None:
        self.attempts += outcome.tries
        self.rates[outcome.task] = outcome.successes / outcome.tries
        if outcome.kept < outcome.wanted:
            raise RecordingError(
                f"{job.env} {job.kwargs}: only {outcome.kept} of {outcome.wanted} episodes succeeded in {outcome.tries} attempts"
            )


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
        if any(jb.noise_scale != 1 for jb in jobs):  # the sigmas were scaled per job (0: recorded clean)
            provenance["action_noise"]["scales"] = [
                {"env_kwargs": dict(jb.kwargs), "scale": jb.noise_scale} for jb in jobs
            ]
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
