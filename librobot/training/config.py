"""The ``training`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingConfig:
    max_steps: int = 2000
    batch_size: int = 32
    grad_accum_steps: int = 1
    grad_clip_norm: float = 1.0
    mixed_precision: str = "no"  # no | bf16 | fp16 (where the device supports it)
    optimizer: dict[str, Any] = field(default_factory=lambda: {"name": "adamw", "lr": 3e-4, "weight_decay": 1e-4})
    # learning-rate multipliers per model component (parameter groups)
    lr_multipliers: dict[str, float] = field(default_factory=lambda: {"vlm": 0.1, "encoder": 1.0, "action_head": 1.0})
    scheduler: dict[str, Any] = field(default_factory=lambda: {"name": "cosine", "warmup_steps": 100})
    ema_decay: float | None = None  # None: no EMA of weights
    val_every: int = 500
    early_stopping_patience: int | None = None  # validations without improvement before stopping
    checkpoint_every: int = 500
    log_every: int = 25
    num_threads: int | None = None  # torch intra-op threads; None: leave torch's default
    tracking: bool = True  # MLflow
