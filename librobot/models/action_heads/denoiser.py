"""The transformer that denoises an action chunk, shared by the diffusion and flow-matching heads.

Action tokens (noisy action + learned position) run through blocks of self-attention,
cross-attention to the projected features and an MLP. The timestep enters either as adaLN-Zero
modulation of every block (DiT, ``adaln=True``) or added to the tokens (``adaln=False``).
"""

from __future__ import annotations

import torch
from torch import nn

from librobot.models.layers import TimestepEmbedding, TransformerBlock

FeatureContext = tuple[list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor | None]


class ActionDenoiser(nn.Module):
    def __init__(
        self,
        feature_dim: int,
        action_dim: int,
        action_horizon: int,
        hidden_dim: int,
        num_layers: int,
        num_heads: int,
        dropout: float,
        adaln: bool,
        time_scale: float,
    ):
        super().__init__()
        self.adaln = adaln
        self.feature_proj = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.LayerNorm(hidden_dim))
        self.action_in = nn.Linear(action_dim, hidden_dim)
        self.pos = nn.Parameter(torch.randn(1, action_horizon, hidden_dim) * 0.02)
        self.time = TimestepEmbedding(hidden_dim, scale=time_scale)
        cond = hidden_dim if adaln else None
        self.blocks = nn.ModuleList(
            TransformerBlock(hidden_dim, num_heads, cross=True, cond_dim=cond, dropout=dropout)
            for _ in range(num_layers)
        )
        self.norm_out = nn.LayerNorm(hidden_dim, elementwise_affine=not adaln)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, 2 * hidden_dim)) if adaln else None
        if self.ada_out is not None:
            nn.init.zeros_(self.ada_out[1].weight)
            nn.init.zeros_(self.ada_out[1].bias)
        self.action_out = nn.Linear(hidden_dim, action_dim)

    def context(self, features: torch.Tensor, feature_mask: torch.Tensor | None) -> FeatureContext:
        """Per-block keys/values of the features: computed once per observation, reused every step."""
        ctx = self.feature_proj(features)
        return [blk.context_kv(ctx) for blk in self.blocks], feature_mask

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: FeatureContext) -> torch.Tensor:
        kvs, mask = context
        temb = self.time(t)
        h = self.action_in(x) + self.pos
        if not self.adaln:
            h = h + temb[:, None, :]
        for blk, kv in zip(self.blocks, kvs, strict=True):
            h = blk(h, context_kv=kv, context_mask=mask, cond=temb if self.adaln else None)
        h = self.norm_out(h)
        if self.ada_out is not None:
            shift, scale = self.ada_out(temb)[:, None, :].chunk(2, dim=-1)
            h = h * (1 + scale) + shift
        return self.action_out(h)
