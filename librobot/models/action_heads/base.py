"""What every action head offers a framework.

A head turns a feature sequence ``[B, N, F]`` (with a bool mask, True = real token) into a chunk of
``H`` normalized actions ``[B, H, D]``. Heads that sample take an explicit ``noise`` so results are
reproducible and export as one deterministic graph.
"""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch import nn


class ActionHead(nn.Module, abc.ABC):
    """Base class: holds the shape of the chunk and the cached-context protocol.

    ``context(features, mask)`` projects the features into whatever the head's layers read (the
    keys/values of every cross-attention layer). ``predict`` computes it once per observation and
    reuses it at every denoising step: a prefix KV cache.
    """

    #: True for heads that sample from noise (``noise_shape`` is not None)
    samples: bool = False

    def __init__(self, feature_dim: int, action_dim: int, action_horizon: int):
        super().__init__()
        self.feature_dim, self.action_dim, self.action_horizon = feature_dim, action_dim, action_horizon

    def noise_shape(self, batch_size: int) -> tuple[int, int, int] | None:
        return (batch_size, self.action_horizon, self.action_dim) if self.samples else None

    @abc.abstractmethod
    def context(self, features: torch.Tensor, feature_mask: torch.Tensor | None) -> Any:
        """Every registered subclass implements this."""

    def check_actions(self, actions: torch.Tensor) -> None:
        expected = (self.action_horizon, self.action_dim)
        if actions.dim() != 3 or tuple(actions.shape[1:]) != expected:
            raise ValueError(
                f"actions have shape {tuple(actions.shape)}; this head expects [B, {expected[0]}, {expected[1]}] "
                "(action_horizon, action_dim)"
            )

    def check_noise(self, noise: torch.Tensor, batch_size: int) -> None:
        expected = self.noise_shape(batch_size)
        if tuple(noise.shape) != expected:
            raise ValueError(
                f"noise has shape {tuple(noise.shape)}; expected {expected} (B, action_horizon, action_dim)"
            )
