"""Trainer callbacks: hooks around optimizer steps and validations, with state saved in checkpoints.

A callback's ``state_dict()`` (tensors and JSON values) goes into every checkpoint under its
``name``, so EMA weights and early-stopping counters survive a resume.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from librobot.training.trainer import Trainer


class Callback:
    name = "callback"

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_optimizer_step(self, trainer: Trainer) -> None: ...

    def on_validation_end(self, trainer: Trainer, val_loss: float) -> None: ...

    def on_step_end(self, trainer: Trainer) -> None:
        """After the step's logging, validation and checkpoint."""

    def on_train_end(self, trainer: Trainer) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class EMA(Callback):
    """Exponential moving average of the trainable weights, updated after every optimizer step.

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` so early, poor weights fade fast.
    Validation and the saved bundle use the averaged weights (``swapped_into``).
    """

    name = "ema"

    def __init__(self, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"training.ema_decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow: dict[str, torch.Tensor] = {}

    def on_train_start(self, trainer: Trainer) -> None:
        if not self.shadow:  # a resumed run already loaded its shadow weights
            self.shadow = {
                k: p.detach().float().clone() for k, p in trainer.unwrapped_model.named_parameters() if p.requires_grad
            }

    @torch.no_grad()
    def on_optimizer_step(self, trainer: Trainer) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, p in trainer.unwrapped_model.named_parameters():
            if k in self.shadow:
                self.shadow[k].lerp_(p.detach().float(), 1.0 - decay)

    @contextlib.contextmanager
    def swapped_into(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily load the averaged weights into ``model``; the live weights come back after."""
        params = dict(model.named_parameters())
        backup = {k: params[k].detach().clone() for k in self.shadow}
        with torch.no_grad():
            for k, v in self.shadow.items():
                params[k].copy_(v.to(params[k].dtype))
        try:
            yield model
        finally:
            with torch.no_grad():
                for k, v in backup.items():
                    params[k].copy_(v)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.shadow = {k: v.float().clone() for k, v in state["shadow"].items()}


class EarlyStopping(Callback):
    """Stops training after ``patience`` validations without the val loss improving by ``min_delta``."""

    name = "early_stopping"

    def __init__(self, patience: int, min_delta: float = 0.0):
        if patience < 1:
            raise ValueError(f"training.early_stopping_patience must be >= 1, got {patience}")
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.bad_validations = 0
        self.stopped_at: int | None = None

    def on_validation_end(self, trainer: Trainer, val_loss: float) -> None:
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.bad_validations = 0
            return
        self.bad_validations += 1
        if self.bad_validations >= self.patience:
            self.stopped_at = trainer.step
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        best = None if math.isinf(self.best) else self.best
        return {"best": best, "bad_validations": self.bad_validations, "stopped_at": self.stopped_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.bad_validations = int(state["bad_validations"])
        self.stopped_at = state["stopped_at"]
