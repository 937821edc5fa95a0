"""What the heads that sample a chunk from noise share: the denoiser, its cached context, the noise.

Flow matching and diffusion differ only in how they train (``forward``) and how they walk from noise
to a chunk (``sample``); drawing or checking the noise and computing the features' keys/values once
per observation (reused at every step, a prefix KV cache) live here.
"""

from __future__ import annotations

import abc
from typing import Any

import torch

from librobot.models.action_heads.base import ActionHead
from librobot.models.action_heads.denoiser import ActionDenoiser


class SamplingHead(ActionHead):
    samples = True

    def __init__(
        self, cfg: Any, feature_dim: int, action_dim: int, action_horizon: int, adaln: bool, time_scale: float
    ):
        """``cfg`` has the denoiser's sizes: hidden_dim, num_layers, num_heads, dropout."""
        super().__init__(feature_dim, action_dim, action_horizon)
        self.cfg = cfg
        self.denoiser = ActionDenoiser(
            feature_dim,
            action_dim,
            action_horizon,
            cfg.hidden_dim,
            cfg.num_layers,
            cfg.num_heads,
            cfg.dropout,
            adaln=adaln,
            time_scale=time_scale,
        )

    def context(self, features, feature_mask):
        return self.denoiser.context(features, feature_mask)

    def predict(self, features, feature_mask, noise=None) -> torch.Tensor:
        b = features.shape[0]
        if noise is None:
            noise = torch.randn(self.noise_shape(b), device=features.device, dtype=features.dtype)
        self.check_noise(noise, b)
        return self.sample(noise, self.context(features, feature_mask))

    @abc.abstractmethod
    def sample(self, noise: torch.Tensor, context: Any) -> torch.Tensor:
        """The chunk ``[B, H, D]`` from ``noise`` of that shape, in a fixed number of unrolled steps."""
