"""MLP state encoder.

Input: one step ``[B, Ds]`` -> ``[B, D]``, or the observation window ``[B, T, Ds]`` -> one token
``[B, 1, D]`` (the window flattened: cheap, and enough when T is small; ``history`` models it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from librobot.models.layers import MLP
from librobot.registry import register_encoder


@dataclass
class MLPEncoderConfig:
    hidden_dims: list[int] = field(default_factory=lambda: [128])
    activation: str = "gelu"  # relu | gelu | silu
    dropout: float = 0.0
    layer_norm: bool = True  # normalize the output, so it mixes well with VLM tokens


@register_encoder("mlp", aliases=["state_mlp"])
class MLPStateEncoder(nn.Module):
    config_class = MLPEncoderConfig

    def __init__(self, cfg: MLPEncoderConfig, input_dim: int, output_dim: int, obs_horizon: int = 1):
        super().__init__()
        self.input_dim, self.output_dim, self.obs_horizon = input_dim, output_dim, obs_horizon
        self.mlp = MLP(input_dim * obs_horizon, cfg.hidden_dims, output_dim, act=cfg.activation, dropout=cfg.dropout)
        self.norm = nn.LayerNorm(output_dim) if cfg.layer_norm else nn.Identity()

    def forward(self, state: torch.Tensor, state_is_pad: torch.Tensor | None = None) -> torch.Tensor:
        window = state.dim() == 3
        steps = state.shape[1] if window else 1
        if state.shape[-1] != self.input_dim or steps != self.obs_horizon:
            raise ValueError(
                f"state has shape {tuple(state.shape)}; this encoder was built for {self.obs_horizon} step(s) "
                f"of {self.input_dim} features"
            )
        out = self.norm(self.mlp(state.flatten(1) if window else state))
        return out[:, None, :] if window else out
