"""``evaluate(policy_dir, output)``: closed-loop rollouts in the data's simulator plus offline metrics.

The simulator and its tasks come from the bundle's metadata (recorded from the dataset's
info.json at training time) unless ``eval.env`` / ``eval.tasks`` say otherwise. Every episode of a
task has a fixed seed (``eval.seed + i``), so two evaluations of one bundle see the same scenes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from librobot.bundle import bundle_digest, load_bundle, update_metadata
from librobot.choices import ActionMode
from librobot.config import ExperimentConfig
from librobot.evaluation.config import EvalConfig
from librobot.evaluation.offline import offline_metrics
from librobot.evaluation.protocols import get_protocol, group_summary, protocol_settings, seen_seeds
from librobot.evaluation.report import write_report
from librobot.evaluation.stats import wilson_interval
from librobot.evaluation.task_records import clear_records, load_records, record_path, save_record, settings_of
from librobot.evaluation.tasks import TaskRollouts, open_task_env, roll_out_in_workers, roll_out_task
from librobot.inference.policy import Policy
from librobot.logging import get_logger
from librobot.progress import Progress

log = get_logger("evaluation")


def eval_config(bundle_cfg: ExperimentConfig | None, overrides: Mapping[str, Any] | None = None) -> EvalConfig:
    """The bundle's ``eval`` section with ``overrides`` (None values leave a field as it is)."""
    base = OmegaConf.structured(bundle_cfg.eval if bundle_cfg is not None else EvalConfig)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        merged = OmegaConf.merge(base, given)
    except Exception as err:  # omegaconf names the key
        raise ValueError(f"eval settings: {str(err).splitlines()[0]}") from None
    return OmegaConf.to_object(merged)


def eval_settings(
    overrides: Mapping[str, Any] | None, episodes: int | None = None, tasks: Sequence[str] | None = None
) -> dict[str, Any]:
    """``overrides`` (an ``eval`` section: what the pipelines pass) with the ``episodes`` / ``tasks`` arguments.

    An argument left None keeps what ``overrides`` says: ``evaluation.tasks`` of a pipeline config
    reaches the rollouts unless the caller names tasks itself.
    """
    settings = dict(overrides or {})
    if episodes is not None:
        settings["episodes_per_task"] = episodes
    if tasks:
        settings["tasks"] = list(tasks)
    return settings


def env_jobs(cfg: EvalConfig, metadata: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(env name, [env kwargs per task]) from the eval settings and the bundle's recorded provenance."""
    recorded = metadata.get("env") or {}
    name = cfg.env or recorded.get("name")
    if not name:
        raise ValueError(
            "the bundle's metadata.json names no simulator (env) and eval.env is not set: "
            "pass --env (a registered env, see `librobot list env`)"
        )
    kwargs = dict(recorded.get("kwargs") or {}) if name == recorded.get("name") else {}
    if cfg.max_steps:  # the env's own time limit must not end an episode before the eval's cap
        kwargs["max_steps"] = int(cfg.max_steps)
    kwargs.update(cfg.env_kwargs or {})
    tasks = list(cfg.tasks or (metadata.get("tasks") if name == recorded.get("name") else None) or [])
    return name, ([{**kwargs, "task": t} for t in tasks] if tasks else [kwargs])


def evaluate(
    policy_dir: str | Path,
    output: str | Path,
    episodes: int | None = None,
    tasks: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dataset: str | Path | None = None,
    record_in_bundle: bool = True,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Evaluate the bundle at ``policy_dir``; writes ``output``/report.json, report.md, plots/, videos/.

    Each task's episodes are written to ``output``/tasks/ as soon as the task ends. ``resume``: keep the
    tasks an interrupted evaluation into ``output`` finished (same bundle and settings, else ValueError)
    and roll out only the others; without it those records are replaced.
    """
    import torch

    policy_dir, output = Path(policy_dir), Path(output)
    info = load_bundle(policy_dir, with_model=False)  # config and metadata only; Policy loads the weights
    settings = eval_settings(overrides, episodes=episodes, tasks=tasks)
    protocol = settings.get("protocol") or info.cfg.eval.protocol
    if protocol:
        settings = protocol_settings(protocol, settings)
    cfg = eval_config(info.cfg, settings)
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    env_name, jobs = env_jobs(cfg, info.metadata)
    seen = seen_seeds(
        {kw.get("task", ""): [cfg.seed + i for i in range(cfg.episodes_per_task)] for kw in jobs},
        dataset or (info.metadata.get("dataset") or {}).get("path"),
    )
    if seen:
        message = f"evaluation seeds the training data was recorded with (per task): {seen}"
        if protocol:
            raise ValueError(f"eval.protocol {protocol}: {message}; evaluate with another eval.seed")
        log.warning("%s: these episodes replay demonstrations", message)
    if cfg.workers < 1:
        raise ValueError(f"eval.workers must be >= 1 (processes rolling tasks out side by side), got {cfg.workers}")
    started = time.perf_counter()
    digest = bundle_digest(policy_dir)
    settings_per_job = [settings_of(digest, cfg, env_name, kw) for kw in jobs]
    records = [record_path(output, env_name, kw) for kw in jobs]
    finished = load_records(records, settings_per_job) if resume else {}
    if not resume and (cleared := clear_records(output)):
        log.warning("%s held %d task records of an earlier evaluation: replaced (--resume keeps them)", output, cleared)
    if finished:
        log.info("resuming: %d of %d tasks already rolled out in %s", len(finished), len(jobs), output)
    todo = [i for i in range(len(jobs)) if i not in finished]
    resumed = set(finished)
    done_episodes = [e for r in finished.values() for e in r.episodes]
    bar = Progress(len(jobs) * cfg.episodes_per_task, "eval", "episode", enabled=progress, initial=len(done_episodes))
    wins = sum(e["success"] for e in done_episodes)

    def count(task: str, success: bool) -> None:
        nonlocal wins
        wins += success
        bar.update(1)
        bar.set_postfix(task=task, success=f"{wins}/{bar.n}")

    def keep(i: int, rollouts: TaskRollouts) -> None:
        save_record(records[i], settings_per_job[i], rollouts)
        finished[i] = rollouts

    policy = None  # loaded once the first env has confirmed the bundle's robot
    if cfg.workers > 1 and len(todo) > 1:
        roll_out_in_workers(
            policy_dir, cfg, env_name, [jobs[i] for i in todo], output, lambda j, r: keep(todo[j], r), on_episode=count
        )
    else:
        for i in todo:
            env, state_index = open_task_env(env_name, jobs[i], info)
            try:
                if policy is None:
                    policy = Policy.from_bundle(policy_dir, runtime=cfg.runtime, threads=cfg.num_threads)
                keep(i, roll_out_task(env, policy, cfg, output, state_index, on_episode=count))
            finally:
                env.close()
    rollouts = [finished[i] for i in range(len(jobs))]
    bar.close()
    per_task = {r.task: _task_summary(r.episodes, r.videos, wilson_interval) for r in rollouts}
    successes = sum(t["successes"] for t in per_task.values())
    inference_s, chunks = sum(r.inference_s for r in rollouts), sum(r.chunks for r in rollouts)
    n = sum(t["episodes"] for t in per_task.values())
    lengths = [e["length"] for t in per_task.values() for e in t["episodes_detail"]]
    report: dict[str, Any] = {
        "policy": str(policy_dir),
        "env": env_name,
        "env_kwargs": {k: v for k, v in jobs[0].items() if k != "task"},
        "runtime": cfg.runtime,
        "episodes_per_task": cfg.episodes_per_task,
        "execute_steps": cfg.execute_steps,
        "action_mode": cfg.action_mode,
        "ensemble_decay": cfg.ensemble_decay if cfg.action_mode == ActionMode.ENSEMBLE else None,
        "max_steps": cfg.max_steps,
        "seed": cfg.seed,
        "episodes": n,
        "successes": successes,
        "success_rate": successes / n if n else 0.0,
        "success_ci95": list(wilson_interval(successes, n)),
        "mean_length": float(np.mean(lengths)) if lengths else 0.0,
        "per_task": per_task,
        "protocol": protocol or None,
        "groups": group_summary(per_task, get_protocol(protocol).groups, wilson_interval) if protocol else {},
        "seen_seeds": seen,
        "resumed_tasks": [rollouts[i].task for i in sorted(resumed)],  # read from tasks/, not rolled out again
        "inference_ms_per_chunk": round(1000 * inference_s / max(1, chunks), 2),
        "closed_loop_wall_s": round(time.perf_counter() - started, 2),
        "bundle": {
            "dataset": info.metadata.get("dataset"),
            "code_commit": info.metadata.get("code_commit"),
            "digest": digest,
            "train_metrics": info.metadata.get("train_metrics"),
        },
    }
    if policy is None and cfg.offline:  # the rollouts ran in workers
        policy = Policy.from_bundle(policy_dir, runtime=cfg.runtime, threads=cfg.num_threads)
    report["offline"] = _offline(policy, info, cfg, dataset)
    path = write_report(report, output)
    log.info(
        "closed loop: %.1f%% success over %d episodes (95%% CI %.1f-%.1f%%); report %s",
        100 * report["success_rate"],
        n,
        100 * report["success_ci95"][0],
        100 * report["success_ci95"][1],
        path,
    )
    if record_in_bundle:
        update_metadata(
            policy_dir,
            eval_metrics={
                "success_rate": report["success_rate"],
                "success_ci95": report["success_ci95"],
                "per_task": {t: r["success_rate"] for t, r in per_task.items()},
                "episodes_per_task": cfg.episodes_per_task,
                "execute_steps": cfg.execute_steps,
                "env": env_name,
                "offline_l1": (report["offline"] or {}).get("l1"),
                "report": str(path.resolve()),
            },
        )
    return report


def _task_summary(episodes: list[dict[str, Any]], videos: list[str], wilson) -> dict[str, Any]:
    wins = sum(e["success"] for e in episodes)
    n = len(episodes)
    ok_lengths = [e["length"] for e in episodes if e["success"]]
    # per-task means of the env's numeric outcomes (delivered_kg, spilled_kg, ... for the wheel loader)
    metric_names = sorted({k for e in episodes for k in e} - {"seed", "success", "length", "return", "chunks"})
    metric_names = [k for k in metric_names if k != "inference_ms_per_chunk"]
    means = {f"mean_{k}": float(np.mean([e[k] for e in episodes if k in e])) for k in metric_names}
    return {
        **means,
        "success_rate": wins / n if n else 0.0,
        "ci95": list(wilson(wins, n)),
        "successes": wins,
        "episodes": n,
        "mean_length": float(np.mean([e["length"] for e in episodes])) if n else 0.0,
        "mean_length_success": float(np.mean(ok_lengths)) if ok_lengths else None,
        "seeds": [e["seed"] for e in episodes],
        "episodes_detail": episodes,
        "videos": videos,
    }


def _offline(policy: Any, info: Any, cfg: EvalConfig, dataset: str | Path | None) -> dict[str, Any] | None:
    """Held-out action error, when the training dataset is at hand (skipped, with a note, if not)."""
    if not cfg.offline:
        return None
    recorded = (info.metadata.get("dataset") or {}).get("path")
    path = Path(dataset or recorded or info.cfg.data.path)
    if not (path / "meta" / "info.json").is_file():
        log.warning("offline metrics skipped: dataset %s not found (pass --dataset)", path)
        return None
    if policy.representation not in ("absolute", "relative"):
        return None
    return offline_metrics(policy, info.cfg.data, cfg.execute_steps, dataset_path=path, max_samples=cfg.offline_samples)
