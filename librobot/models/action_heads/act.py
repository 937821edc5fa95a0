"""ACT (Action Chunking with Transformers, Zhao et al. 2023) as an action head.

Training is a conditional VAE: a transformer encoder reads ``[CLS, observation summary, action
chunk]`` and gives the posterior of a style latent ``z``; the decoder's encoder reads ``[z,
observation tokens]`` and ``action_horizon`` learned queries read that memory (cross-attention)
to predict the whole chunk. Loss: L1 on real (unpadded) actions plus ``kl_weight`` * KL(q(z) || N(0, I)).
At inference ``z`` is the prior's mean (zero), so the head is deterministic and exports as one
graph; temporal ensembling of overlapping chunks is the ActionBuffer's (``ensemble`` mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from librobot.models.action_heads.base import ActionHead
from librobot.models.layers import TransformerBlock, masked_action_loss, masked_mean
from librobot.registry import register_action_head


@dataclass
class ACTConfig:
    hidden_dim: int = 128
    num_heads: int = 4
    encoder_layers: int = 2  # self-attention over [z, observation tokens]
    decoder_layers: int = 2  # queries: self-attention + cross-attention to that memory
    vae_layers: int = 2  # the CVAE posterior encoder (training only)
    latent_dim: int = 32
    kl_weight: float = 10.0  # ACT's default
    dropout: float = 0.1


@register_action_head("act")
class ACTHead(ActionHead):
    config_class = ACTConfig
    samples = False

    def __init__(self, cfg: ACTConfig, feature_dim: int, action_dim: int, action_horizon: int):
        super().__init__(feature_dim, action_dim, action_horizon)
        for key in ("encoder_layers", "decoder_layers", "vae_layers", "latent_dim"):
            if getattr(cfg, key) < 1:
                raise ValueError(f"action_head.{key} must be >= 1, got {getattr(cfg, key)}")
        if cfg.kl_weight < 0:
            raise ValueError(f"action_head.kl_weight must be >= 0, got {cfg.kl_weight}")
        self.cfg = cfg
        d = cfg.hidden_dim
        self.feature_proj = nn.Sequential(nn.Linear(feature_dim, d), nn.LayerNorm(d))
        # CVAE posterior q(z | observation, actions): training only
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.vae_action_proj = nn.Linear(action_dim, d)
        self.vae_pos = nn.Parameter(torch.randn(1, action_horizon + 2, d) * 0.02)
        self.vae = nn.ModuleList(
            TransformerBlock(d, cfg.num_heads, cross=False, dropout=cfg.dropout) for _ in range(cfg.vae_layers)
        )
        self.to_latent = nn.Linear(d, 2 * cfg.latent_dim)
        # the policy: [z, observation tokens] -> memory -> queries -> chunk
        self.latent_proj = nn.Linear(cfg.latent_dim, d)
        self.memory_type = nn.Parameter(torch.randn(1, 2, d) * 0.02)  # 0: latent token, 1: observation tokens
        self.encoder = nn.ModuleList(
            TransformerBlock(d, cfg.num_heads, cross=False, dropout=cfg.dropout) for _ in range(cfg.encoder_layers)
        )
        self.queries = nn.Parameter(torch.randn(1, action_horizon, d) * 0.02)
        self.decoder = nn.ModuleList(
            TransformerBlock(d, cfg.num_heads, cross=True, dropout=cfg.dropout) for _ in range(cfg.decoder_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.to_action = nn.Linear(d, action_dim)

    # -- the CVAE posterior ---------------------------------------------------------------------
    def posterior(
        self, obs: torch.Tensor, mask: torch.Tensor | None, actions: torch.Tensor, action_is_pad: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | observation, action chunk) from ``[CLS, mean observation token, actions]``."""
        b = actions.shape[0]
        tokens = torch.cat(
            [self.cls.expand(b, -1, -1), masked_mean(obs, mask)[:, None], self.vae_action_proj(actions)], dim=1
        )
        tokens = tokens + self.vae_pos
        keep = torch.ones(b, 2, dtype=torch.bool, device=actions.device)
        key_mask = torch.cat([keep, ~action_is_pad], dim=1) if action_is_pad is not None else None
        for blk in self.vae:
            tokens = blk(tokens, self_mask=key_mask)
        mu, logvar = self.to_latent(tokens[:, 0]).chunk(2, dim=-1)
        return mu, logvar.clamp(-10.0, 10.0)

    # -- the policy ------------------------------------------------------------------------------
    def context(self, features: torch.Tensor, feature_mask: torch.Tensor | None, z: torch.Tensor | None = None):
        """Memory ``[z, observation tokens]`` after the encoder, as keys/values of every decoder block."""
        obs = self.feature_proj(features)
        b = obs.shape[0]
        if z is None:  # the prior's mean: deterministic inference
            z = obs.new_zeros(b, self.cfg.latent_dim)
        memory = torch.cat(
            [self.latent_proj(z)[:, None] + self.memory_type[:, :1], obs + self.memory_type[:, 1:]], dim=1
        )
        mask = None
        if feature_mask is not None:
            mask = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=feature_mask.device), feature_mask], dim=1)
        for blk in self.encoder:
            memory = blk(memory, self_mask=mask)
        return [blk.context_kv(memory) for blk in self.decoder], mask

    def decode(self, context) -> torch.Tensor:
        kvs, mask = context
        h = self.queries.expand(kvs[0][0].shape[0], -1, -1)
        for blk, kv in zip(self.decoder, kvs, strict=True):
            h = blk(h, context_kv=kv, context_mask=mask)
        return self.to_action(self.norm(h))

    def forward(self, features, feature_mask, actions, action_is_pad=None) -> dict[str, torch.Tensor]:
        self.check_actions(actions)
        mu, logvar = self.posterior(self.feature_proj(features), feature_mask, actions, action_is_pad)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        pred = self.decode(self.context(features, feature_mask, z))
        l1 = masked_action_loss((pred - actions).abs(), action_is_pad)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(-1).mean()
        return {"loss": l1 + self.cfg.kl_weight * kl, "l1": l1.detach(), "kl": kl.detach()}

    def predict(self, features, feature_mask, noise=None) -> torch.Tensor:
        return self.decode(self.context(features, feature_mask))
