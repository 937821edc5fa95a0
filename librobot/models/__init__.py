"""Models: VLM backbones, state encoders, action heads and the frameworks that compose them.

``build_model(cfg.model, state_dim=..., action_dim=..., action_horizon=..., obs_horizon=...,
num_cameras=...)`` builds the framework named by ``cfg.model.framework``; the framework builds the
VLM, the encoders and the head named beside it. See docs/contracts.md ("Models").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from librobot.registry import build


def build_model(
    model_cfg: Any,
    state_dim: int,
    action_dim: int,
    action_horizon: int,
    obs_horizon: int = 1,
    num_cameras: int = 1,
):
    """Build the framework of ``model_cfg`` (``cfg.model``: a ``ModelConfig`` or a mapping with ``vlm``,
    ``encoder``, ``action_head``, ``framework``)."""
    cfg = _as_node(model_cfg)
    missing = [part for part in ("vlm", "encoder", "action_head", "framework") if part not in cfg]
    if missing:
        raise KeyError(
            f"model config lacks {', '.join('model.' + m for m in missing)}: each names a registered component"
        )
    for name, value in (
        ("state_dim", state_dim),
        ("action_dim", action_dim),
        ("action_horizon", action_horizon),
        ("obs_horizon", obs_horizon),
        ("num_cameras", num_cameras),
    ):
        if int(value) < 1:
            raise ValueError(f"build_model: {name} must be >= 1, got {value}")
    return build(
        "framework",
        cfg.framework,
        model_cfg=cfg,
        state_dim=int(state_dim),
        action_dim=int(action_dim),
        action_horizon=int(action_horizon),
        obs_horizon=int(obs_horizon),
        num_cameras=int(num_cameras),
    )


def _as_node(model_cfg: Any) -> DictConfig:
    """The model section as an attribute-addressable node (the registry builds each part from it)."""
    if isinstance(model_cfg, DictConfig):
        return model_cfg
    if dataclasses.is_dataclass(model_cfg) and not isinstance(model_cfg, type):
        return OmegaConf.create(dataclasses.asdict(model_cfg))
    if isinstance(model_cfg, Mapping):
        return OmegaConf.create(dict(model_cfg))
    raise TypeError(f"model config must be a ModelConfig or a mapping, got {type(model_cfg).__name__}")


__all__ = ["build_model"]
