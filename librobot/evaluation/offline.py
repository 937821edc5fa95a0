"""Offline metrics on held-out episodes: action error in the robot's units, per dimension and task.

The policy sees each held-out frame as it would live (raw observation -> Policy -> actions in robot
units, clipped) and its chunk is compared with the recorded one over the part that would be
executed: the first ``execute_steps`` actions, padding past the episode end excluded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.action_repr import from_relative
from librobot.data.config import DataConfig
from librobot.data.dataset import ChunkedDataset, collate
from librobot.inference.observation import CheckedObservation


def offline_metrics(
    policy: Any,
    data: DataConfig,
    execute_steps: int,
    dataset_path: str | Path | None = None,
    max_samples: int | None = 512,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """L1 / MSE per action dimension, overall and per task, on the bundle's validation split."""
    import torch

    path = Path(dataset_path or data.path)
    dataset = ChunkedDataset(
        path,
        split="val" if data.val_fraction > 0 else "all",
        cameras=policy.spec.cameras,
        action_horizon=policy.action_horizon,
        obs_horizon=policy.spec.obs_horizon,
        val_fraction=data.val_fraction,
        split_seed=data.split_seed,
        action_representation=data.action_representation,
        state_features=data.state_features,
        action_features=data.action_features,
    )
    policy.robot.check_names(dataset.action_names, "action")
    policy.robot.check_names(dataset.state_names, "state")
    n = len(dataset)
    # an even spread over the held-out frames when there are more than max_samples
    picks = np.arange(n) if not max_samples or n <= max_samples else np.linspace(0, n - 1, max_samples).astype(int)
    k = min(execute_steps, policy.action_horizon)
    names = policy.robot.action_names
    abs_err: dict[str, list[np.ndarray]] = {}
    sq_err: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(picks), batch_size):
        batch = collate([dataset[int(i)] for i in picks[start : start + batch_size]])
        state = batch["state"].double().numpy()
        obs = CheckedObservation(
            images=batch["images"].numpy(),
            state=state,
            instructions=list(batch["instruction"]),
            batched=True,
            has_history=True,
        )
        with torch.inference_mode():
            predicted = policy.act_checked(obs, seed=seed + start)[:, :k]
        target = batch["actions"].double().numpy()
        if dataset.action_representation == "relative":  # the policy returns absolute actions
            target = from_relative(target, state[:, -1])
        target = policy.robot.clip(target[:, :k], "action")  # what the robot could have executed
        valid = ~batch["action_is_pad"].numpy()[:, :k]
        diff = (predicted - target)[valid]  # [n_valid, Da]
        tasks = np.repeat(np.asarray(batch["instruction"], dtype=object)[:, None], k, axis=1)[valid]
        for task in np.unique(tasks):
            rows = diff[tasks == task]
            abs_err.setdefault(str(task), []).append(np.abs(rows))
            sq_err.setdefault(str(task), []).append(rows**2)
    per_task = {}
    for task in sorted(abs_err):
        per_task[task] = _summary(np.concatenate(abs_err[task]), np.concatenate(sq_err[task]), names)
    every_abs = np.concatenate([np.concatenate(v) for v in abs_err.values()]) if abs_err else np.zeros((0, len(names)))
    every_sq = np.concatenate([np.concatenate(v) for v in sq_err.values()]) if sq_err else np.zeros((0, len(names)))
    return {
        "dataset": str(path),
        "split": dataset.split,
        "episodes": len(dataset.episodes),
        "samples": int(len(picks)),
        "executed_steps": k,
        "units": {f.name: f.unit for f in policy.robot.action},
        **_summary(every_abs, every_sq, names),
        "per_task": per_task,
    }


def _summary(abs_err: np.ndarray, sq_err: np.ndarray, names: list[str]) -> dict[str, Any]:
    if len(abs_err) == 0:
        return {"actions": 0, "l1": None, "mse": None, "l1_per_dim": {}, "mse_per_dim": {}}
    l1 = abs_err.mean(axis=0)
    mse = sq_err.mean(axis=0)
    return {
        "actions": int(len(abs_err)),
        "l1": float(l1.mean()),
        "mse": float(mse.mean()),
        "l1_per_dim": {n: float(v) for n, v in zip(names, l1, strict=True)},
        "mse_per_dim": {n: float(v) for n, v in zip(names, mse, strict=True)},
    }
