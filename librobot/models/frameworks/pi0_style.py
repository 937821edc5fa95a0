"""pi0-style framework: a prefix of VLM tokens plus the state, read by an action expert.

The prefix (the VLM's image and language tokens, then a state token) runs through trainable
transformer layers with bidirectional attention over the valid tokens, playing the part of pi0's
VLM layers over the prefix. The action head is the action expert: its attention layers read the
prefix, and the pi0 recipe trains it by flow matching (``model/action_head=flow_matching``). At
inference the prefix is encoded, and its keys/values projected for every expert layer, once per
observation; each denoising step reuses them (the prefix KV cache lives in ``head.context``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from librobot.models.frameworks.base import VLAFramework
from librobot.models.layers import TransformerBlock
from librobot.registry import register_framework


@dataclass
class Pi0StyleConfig:
    prefix_layers: int = 2  # transformer layers over [VLM tokens; state token]
    num_heads: int = 4
    dropout: float = 0.0


class PrefixEncoder(nn.Module):
    def __init__(self, width: int, num_layers: int, num_heads: int, dropout: float):
        super().__init__()
        self.type_emb = nn.Parameter(torch.randn(2, width) * 0.02)  # 0: VLM token, 1: state token
        self.blocks = nn.ModuleList(
            TransformerBlock(width, num_heads, cross=False, dropout=dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, vlm_tokens, vlm_mask, state_tokens) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.cat([vlm_tokens + self.type_emb[0], state_tokens + self.type_emb[1]], dim=1)
        state_mask = torch.ones(state_tokens.shape[:2], dtype=torch.bool, device=vlm_mask.device)
        mask = torch.cat([vlm_mask, state_mask], dim=1)
        for blk in self.blocks:
            h = blk(h, self_mask=mask)
        return self.norm(h), mask


@register_framework("pi0_style", aliases=["pi0"])
class Pi0Style(VLAFramework):
    config_class = Pi0StyleConfig

    def __init__(
        self, cfg: Pi0StyleConfig, model_cfg, state_dim, action_dim, action_horizon, obs_horizon=1, num_cameras=1
    ):
        super().__init__(model_cfg, state_dim, action_dim, action_horizon, obs_horizon, num_cameras)
        self.cfg = cfg
        self.state_encoder = self.build_state_encoder(model_cfg)
        self.prefix = PrefixEncoder(self.feature_dim, cfg.prefix_layers, cfg.num_heads, cfg.dropout)
        self.action_head = self.build_head(model_cfg, self.feature_dim)

    def features(self, images, state, input_ids, attention_mask, state_is_pad=None, use_cache=True):
        feats, mask = self.vlm(images, input_ids, attention_mask, use_cache=use_cache)
        return self.compose(feats, mask, state, state_is_pad)

    def compose(self, feats, mask, state, state_is_pad=None):
        return self.prefix(feats, mask, self.state_encoder(state, state_is_pad))
