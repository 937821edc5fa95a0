"""History encoder for observation horizons > 1: a small transformer over the encoded state steps.

Each step goes through an MLP, gets a learned position for its place in the window, and the steps
attend to each other (padded steps are masked out as keys). Output: one token per step ``[B, T, D]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from librobot.models.layers import MLP, TransformerBlock
from librobot.registry import register_encoder


@dataclass
class HistoryEncoderConfig:
    hidden_dims: list[int] = field(default_factory=lambda: [128])
    activation: str = "gelu"
    dropout: float = 0.0
    num_layers: int = 1
    num_heads: int = 4


@register_encoder("history", aliases=["state_history"])
class HistoryEncoder(nn.Module):
    config_class = HistoryEncoderConfig

    def __init__(self, cfg: HistoryEncoderConfig, input_dim: int, output_dim: int, obs_horizon: int = 1):
        super().__init__()
        self.input_dim, self.output_dim, self.obs_horizon = input_dim, output_dim, obs_horizon
        self.step = MLP(input_dim, cfg.hidden_dims, output_dim, act=cfg.activation, dropout=cfg.dropout)
        self.pos = nn.Parameter(torch.randn(1, obs_horizon, output_dim) * 0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(output_dim, cfg.num_heads, cross=False, dropout=cfg.dropout) for _ in range(cfg.num_layers)
        )
        self.norm = nn.LayerNorm(output_dim)

    def forward(self, state: torch.Tensor, state_is_pad: torch.Tensor | None = None) -> torch.Tensor:
        if state.dim() != 3 or tuple(state.shape[1:]) != (self.obs_horizon, self.input_dim):
            raise ValueError(
                f"state has shape {tuple(state.shape)}; the history encoder expects [B, {self.obs_horizon}, {self.input_dim}]"
            )
        h = self.step(state) + self.pos
        keep = None if state_is_pad is None else ~state_is_pad
        for blk in self.blocks:
            h = blk(h, self_mask=keep)
        return self.norm(h)
