"""The ``eval`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    env: str | None = None  # registered env; None: the simulator recorded in the dataset's metadata
    tasks: list[str] | None = None  # None: the tasks of the training dataset
    episodes_per_task: int = 10
    max_steps: int | None = None  # None: the environment's own limit
    execute_steps: int = 8  # actions executed from each predicted chunk before re-planning
    seed: int = 1000  # first rollout seed; episode i of a task uses seed + i
    videos_per_task: int = 1
    runtime: str = "torch"  # torch | onnx | onnx-int8
    env_kwargs: dict[str, str] = field(default_factory=dict)
