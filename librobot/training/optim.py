"""Optimizers and learning-rate schedulers, registered by name, with per-component parameter groups.

``cfg.training.optimizer = {name: adamw, lr: 3e-4, weight_decay: 1e-4}`` picks the optimizer;
``cfg.training.lr_multipliers = {vlm: 0.1, ...}`` scales the learning rate of each component the
framework's ``param_groups()`` names. Frozen parameters (``requires_grad=False``) never reach the
optimizer, so a frozen pretrained VLM costs no optimizer memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from librobot.registry import build, register_optimizer, register_scheduler


@register_optimizer("adamw")
def adamw(
    params: Iterable[Any], lr: float = 3e-4, weight_decay: float = 1e-2, betas: tuple = (0.9, 0.999), eps: float = 1e-8
) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)


@register_optimizer("adam")
def adam(
    params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.0, betas: tuple = (0.9, 0.999), eps: float = 1e-8
) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)


@register_optimizer("sgd")
def sgd(
    params: Iterable[Any], lr: float = 1e-2, momentum: float = 0.9, weight_decay: float = 0.0, nesterov: bool = False
) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


@register_scheduler("cosine", aliases=["cosine_with_warmup"])
def cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup from 0 to the base rate, then a half cosine down to ``min_lr_ratio`` x base."""
    _check_warmup(warmup_steps, total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@register_scheduler("constant")
def constant(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0
) -> torch.optim.lr_scheduler.LambdaLR:
    """The base rate throughout, after an optional linear warmup."""
    _check_warmup(warmup_steps, total_steps)

    def factor(step: int) -> float:
        return (step + 1) / warmup_steps if step < warmup_steps else 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _check_warmup(warmup_steps: int, total_steps: int) -> None:
    if warmup_steps < 0:
        raise ValueError(f"training.scheduler.warmup_steps must be >= 0, got {warmup_steps}")
    if total_steps < 1:
        raise ValueError(f"training.max_steps must be >= 1, got {total_steps}")


COMPONENTS = ("vlm", "encoder", "action_head")  # the framework contract's param_groups() keys


def parameter_groups(
    model: nn.Module, lr: float, lr_multipliers: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """One optimizer group per model component, with ``lr x multiplier``; frozen parameters left out.

    Uses the framework's ``param_groups()`` (``{"vlm": [...], "encoder": [...], ...}``) when it has
    one; trainable parameters it does not list go to an ``other`` group at the base rate. A module
    without ``param_groups`` gets one group.
    """
    multipliers = dict(lr_multipliers or {})
    trainable = [p for p in model.parameters() if p.requires_grad]
    named: dict[str, list[nn.Parameter]] = {}
    if hasattr(model, "param_groups"):
        named = {str(k): list(v) for k, v in model.param_groups().items()}
    # the standard components may be absent from a model (no VLM, say); anything else is a typo
    unknown = sorted(set(multipliers) - set(named) - set(COMPONENTS))
    if unknown:
        raise ValueError(
            f"training.lr_multipliers names {unknown}, which the model's param_groups() does not have; "
            f"known components: {sorted(set(named) | set(COMPONENTS))}"
        )
    groups: list[dict[str, Any]] = []
    seen: set[int] = set()
    for component, params in named.items():
        params = [p for p in params if p.requires_grad and id(p) not in seen]
        seen.update(id(p) for p in params)
        if params:
            mult = float(multipliers.get(component, 1.0))
            groups.append({"params": params, "lr": lr * mult, "name": component, "lr_multiplier": mult})
    rest = [p for p in trainable if id(p) not in seen]
    if rest:
        groups.append({"params": rest, "lr": lr, "name": "other", "lr_multiplier": 1.0})
    if not groups:
        raise ValueError("the model has no trainable parameters: every parameter is frozen")
    return groups


def build_optimizer(model: nn.Module, optimizer_cfg: Mapping[str, Any], lr_multipliers: Mapping[str, float] | None):
    """The registered optimizer ``optimizer_cfg.name`` over the model's per-component groups."""
    cfg = dict(optimizer_cfg)
    if "lr" not in cfg:
        raise ValueError(f"training.optimizer.lr is missing (got {sorted(cfg)})")
    groups = parameter_groups(model, float(cfg["lr"]), lr_multipliers)
    # the optimizer's own lr is the base rate; each group carries its multiplied rate
    return build("optimizer", cfg, params=groups)


def build_scheduler(optimizer: torch.optim.Optimizer, scheduler_cfg: Mapping[str, Any], total_steps: int):
    """The registered scheduler ``scheduler_cfg.name``, stepped once per optimizer step."""
    return build("scheduler", dict(scheduler_cfg), optimizer=optimizer, total_steps=total_steps)
