"""The ``eval`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalConfig:
    env: str | None = None  # registered env; None: the simulator recorded in the dataset's metadata
    tasks: list[str] | None = None  # None: the tasks of the training dataset
    episodes_per_task: int = 10
    max_steps: int | None = None  # None: the environment's own limit
    execute_steps: int = 8  # actions executed from each predicted chunk before re-planning
    # chunk: execute `execute_steps` actions, then re-plan; ensemble: ACT's temporal ensembling (a
    # chunk every step, the predictions for a step averaged with weights exp(-ensemble_decay * age))
    action_mode: str = "chunk"
    ensemble_decay: float = 0.01
    seed: int = 1000  # first rollout seed; episode i of a task uses seed + i
    videos_per_task: int = 1
    runtime: str = "torch"  # torch | onnx | onnx-int8
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # merged over the recorded env kwargs
    offline: bool = True  # also measure action error on the held-out episodes of the dataset
    offline_samples: int | None = 512  # held-out frames used offline; None: all of them
    num_threads: int | None = None  # torch intra-op threads while evaluating; None: leave torch's default
    # processes rolling tasks out side by side (each loads the bundle); the episodes are the same for any
    # number, only the wall time changes. With workers > 1 and num_threads unset, each takes its share of cores
    workers: int = 1
    # a published protocol (librobot.evaluation.protocols): fixes max_steps, episodes and seeds, adds groups
    protocol: str | None = None
