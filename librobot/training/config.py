"""The ``training`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingConfig:
    max_steps: int = 2000  # optimizer steps
    # samples per micro-batch over all processes (each of N processes loads batch_size / N); an
    # optimizer step sees batch_size x grad_accum_steps samples, however many processes run
    batch_size: int = 32
    grad_accum_steps: int = 1
    grad_clip_norm: float | None = 1.0  # None: no clipping
    mixed_precision: str = "no"  # no | bf16 | fp16 (where the device supports it)
    optimizer: dict[str, Any] = field(default_factory=lambda: {"name": "adamw", "lr": 3e-4, "weight_decay": 1e-4})
    # learning-rate multipliers per model component (parameter groups)
    lr_multipliers: dict[str, float] = field(default_factory=lambda: {"vlm": 0.1, "encoder": 1.0, "action_head": 1.0})
    scheduler: dict[str, Any] = field(default_factory=lambda: {"name": "cosine", "warmup_steps": 100})
    ema_decay: float | None = None  # None: no EMA of weights; else the bundle gets the EMA weights
    val_every: int = 500  # optimizer steps between validations (0: never)
    val_batches: int | None = None  # batches per validation; None: the whole validation split
    early_stopping_patience: int | None = None  # validations without improvement before stopping
    early_stopping_min_delta: float = 0.0  # an improvement must lower the val loss by more than this
    checkpoint_every: int = 500  # optimizer steps between full-state checkpoints (0: only at the end)
    keep_checkpoints: int = 2  # newest checkpoints kept on disk
    log_every: int = 25
    num_threads: int | None = None  # torch intra-op threads; None: leave torch's default
    tracking: bool = True  # MLflow (MLFLOW_TRACKING_URI, else sqlite under the output directory)
    tracking_experiment: str = "librobot"  # MLflow experiment name
    progress: bool = True  # progress bar with loss and throughput
    cpu: bool = False  # train on CPU even when an accelerator is present
    # feeding a GPU (data.num_workers sets the loader processes); the defaults change nothing on CPU
    pin_memory: bool = False  # page-locked host batches, so copies to the GPU can overlap compute
    non_blocking: bool = False  # asynchronous host-to-GPU copies (pair with pin_memory)
    persistent_workers: bool = False  # one loader for the run: workers live across epochs (num_workers > 0)
    prefetch_factor: int | None = None  # batches each worker loads ahead; None: torch's default (2)
    allow_tf32: bool | None = None  # TF32 float32 matmuls/convolutions on Ampere+ GPUs; None: torch's default
    compile: bool = False  # torch.compile the model's forward after accelerate wraps it
