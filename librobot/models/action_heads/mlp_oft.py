"""OpenVLA-OFT style head: the whole chunk decoded in parallel, trained with an L1 loss.

``action_horizon`` learned query tokens attend to the features (one pass, no sampling), then an MLP
maps each query to its action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from librobot.models.action_heads.base import ActionHead
from librobot.models.layers import MLP, TransformerBlock, masked_action_loss
from librobot.registry import register_action_head


@dataclass
class MLPOFTConfig:
    hidden_dim: int = 128
    num_layers: int = 2  # query <-> feature attention blocks before the MLP
    num_heads: int = 4
    mlp_hidden_dims: list[int] = field(default_factory=lambda: [128])
    activation: str = "gelu"
    dropout: float = 0.0


@register_action_head("mlp_oft", aliases=["mlp"])
class MLPOFTHead(ActionHead):
    config_class = MLPOFTConfig
    samples = False

    def __init__(self, cfg: MLPOFTConfig, feature_dim: int, action_dim: int, action_horizon: int):
        super().__init__(feature_dim, action_dim, action_horizon)
        if cfg.num_layers < 1:
            raise ValueError(
                f"action_head.num_layers must be >= 1 (the queries read the features by attention), got {cfg.num_layers}"
            )
        self.cfg = cfg
        self.feature_proj = nn.Sequential(nn.Linear(feature_dim, cfg.hidden_dim), nn.LayerNorm(cfg.hidden_dim))
        self.queries = nn.Parameter(torch.randn(1, action_horizon, cfg.hidden_dim) * 0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(cfg.hidden_dim, cfg.num_heads, cross=True, dropout=cfg.dropout)
            for _ in range(cfg.num_layers)
        )
        self.norm = nn.LayerNorm(cfg.hidden_dim)
        self.mlp = MLP(cfg.hidden_dim, cfg.mlp_hidden_dims, action_dim, act=cfg.activation, dropout=cfg.dropout)

    def context(self, features, feature_mask):
        ctx = self.feature_proj(features)
        return [blk.context_kv(ctx) for blk in self.blocks], feature_mask

    def decode(self, context) -> torch.Tensor:
        kvs, mask = context
        b = kvs[0][0].shape[0]
        h = self.queries.expand(b, -1, -1)
        for blk, kv in zip(self.blocks, kvs, strict=True):
            h = blk(h, context_kv=kv, context_mask=mask)
        return self.mlp(self.norm(h))

    def forward(self, features, feature_mask, actions, action_is_pad=None) -> dict[str, torch.Tensor]:
        self.check_actions(actions)
        pred = self.decode(self.context(features, feature_mask))
        loss = masked_action_loss((pred - actions).abs(), action_is_pad)
        return {"loss": loss, "l1": loss.detach()}

    def predict(self, features, feature_mask, noise=None) -> torch.Tensor:
        return self.decode(self.context(features, feature_mask))
