"""The seeded episodes of one task, in this process or spread over worker processes a task at a time.

Every episode is seeded (``eval.seed + i``, its noise per step), so a task's episodes do not depend on
which process rolls them out: ``eval.workers`` only changes how long a suite takes. A worker loads the
bundle once and keeps it for the tasks it is given; each uses ``eval.num_threads`` torch threads, or its
share of the CPU's cores when that is unset, so the workers do not oversubscribe the machine. Workers
report each finished episode as it ends, so progress moves per episode, not per task.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from librobot.bundle import load_bundle
from librobot.evaluation.config import EvalConfig
from librobot.evaluation.rollout import check_robot_matches, run_episode
from librobot.evaluation.video import write_video
from librobot.inference.policy import Policy
from librobot.parallel import report, run_in_processes
from librobot.sim import make_env


@dataclass
class TaskRollouts:
    task: str
    episodes: list[dict[str, Any]]  # Episode.summary() per episode, in seed order
    videos: list[str]  # paths relative to the report directory
    inference_s: float
    chunks: int


def open_task_env(env_name: str, kwargs: Mapping[str, Any], info: Any) -> tuple[Any, list[int] | None]:
    """The task's env and the state features the bundle reads, once the env is checked against the bundle."""
    env = make_env(env_name, **kwargs)
    try:
        state_index = check_robot_matches(info.robot, env.robot, env_name, state_source=info.spec.state_source)
        missing = [c for c in info.cameras if c not in env.camera_names]
        if missing:
            raise ValueError(
                f"env {env_name!r} renders cameras {list(env.camera_names)}; the bundle needs {missing} as well"
            )
    except BaseException:
        env.close()
        raise
    return env, state_index


def roll_out_task(
    env: Any,
    policy: Any,
    cfg: EvalConfig,
    output: Path,
    state_index: Sequence[int] | None,
    on_episode: Callable[[str, bool], None] | None = None,  # (task, success) after each episode
) -> TaskRollouts:
    """``cfg.episodes_per_task`` episodes of ``env``'s task from seeds ``cfg.seed + i``; the first videos written."""
    episodes, videos, inference_s, chunks = [], [], 0.0, 0
    for i in range(cfg.episodes_per_task):
        seed = cfg.seed + i
        record = i < cfg.videos_per_task
        ep = run_episode(
            env,
            policy,
            seed,
            cfg.execute_steps,
            cfg.max_steps,
            record=record,
            action_mode=cfg.action_mode,
            ensemble_decay=cfg.ensemble_decay,
            state_index=state_index,
        )
        if record:
            name = f"{slug(env.task)}_seed{seed}_{'success' if ep.success else 'failure'}.mp4"
            write_video(output / "videos" / name, ep.frames, fps=env.robot.fps)
            videos.append(f"videos/{name}")
        episodes.append(ep.summary())
        inference_s += ep.inference_s
        chunks += ep.chunks
        if on_episode is not None:
            on_episode(env.task, ep.success)
    return TaskRollouts(env.task, episodes, videos, inference_s, chunks)


def roll_out_in_workers(
    policy_dir: Path,
    cfg: EvalConfig,
    env_name: str,
    jobs: Sequence[Mapping[str, Any]],
    output: Path,
    on_task: Callable[[int, TaskRollouts], None],  # (index in jobs, its rollouts) as each task ends
    on_episode: Callable[[str, bool], None] | None = None,  # (task, success), as the workers finish episodes
) -> list[TaskRollouts]:
    """Each job's rollouts, ``cfg.workers`` tasks at a time in spawned processes; returned in job order.

    A worker's error is raised here with its message (``librobot.parallel``).
    """
    workers = min(cfg.workers, len(jobs))
    threads = cfg.num_threads or max(1, (os.cpu_count() or 1) // workers)
    args = [(str(policy_dir), cfg, env_name, dict(kw), str(output), threads) for kw in jobs]
    return run_in_processes(_worker_task, args, workers, on_task, on_message=on_episode)


_worker_state: dict[str, Any] = {}  # per worker process: the bundle it has loaded


def _worker_task(
    policy_dir: str, cfg: EvalConfig, env_name: str, kwargs: dict[str, Any], output: str, threads: int
) -> TaskRollouts:
    import torch

    torch.set_num_threads(threads)
    if "info" not in _worker_state:
        _worker_state["info"] = load_bundle(policy_dir, with_model=False)
    env, state_index = open_task_env(env_name, kwargs, _worker_state["info"])
    try:
        if "policy" not in _worker_state:
            _worker_state["policy"] = Policy.from_bundle(policy_dir, runtime=cfg.runtime, threads=threads)
        return roll_out_task(env, _worker_state["policy"], cfg, Path(output), state_index, on_episode=report)
    finally:
        env.close()


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
