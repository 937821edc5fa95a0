"""Gaussian noise on state / actions, in robot units (std per value, same for every dimension)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from librobot.registry import register_transform


@dataclass
class NoiseConfig:
    std: float = 0.01


class _Noise:
    config_class = NoiseConfig
    key = ""
    pad_key = ""

    def __init__(self, cfg: NoiseConfig):
        if cfg.std < 0:
            raise ValueError(f"{type(self).__name__}: std must be >= 0, got {cfg.std}")
        self.std = cfg.std

    def __call__(self, sample: dict) -> dict:
        x = sample[self.key]
        noise = torch.randn_like(x) * self.std
        # padded entries stay copies of real frames: noise only what the model really sees
        noise[sample[self.pad_key]] = 0
        sample[self.key] = x + noise
        return sample


@register_transform("state_noise")
class StateNoise(_Noise):
    key, pad_key = "state", "state_is_pad"


@register_transform("action_noise")
class ActionNoise(_Noise):
    key, pad_key = "actions", "action_is_pad"
