"""GR00T-style framework: frozen VLM features, the state bypasses the VLM, a head reads both.

The VLM's tokens (pretrained parts frozen, per the VLM's config) and the state tokens from the state
encoder (``model/encoder=history`` gives one token per step when obs_horizon > 1) are joined, by concatenating the state tokens
to the sequence (``fusion: concat``) or adding the mean state token to every VLM token
(``fusion: add``), and fed to the action head.

``act_style`` is this wiring too: ACT's own transformer (an encoder over [style latent, observation
tokens], a decoder of learned queries) is the ``act`` action head, so an ACT framework adds nothing
to the concatenation of image, instruction and state tokens done here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from librobot.models.frameworks.base import VLAFramework
from librobot.registry import register_framework


@dataclass
class GrootStyleConfig:
    fusion: str = "concat"  # concat | add


@register_framework("groot_style", aliases=["groot", "act_style"])
class GrootStyle(VLAFramework):
    config_class = GrootStyleConfig

    def __init__(
        self, cfg: GrootStyleConfig, model_cfg, state_dim, action_dim, action_horizon, obs_horizon=1, num_cameras=1
    ):
        super().__init__(model_cfg, state_dim, action_dim, action_horizon, obs_horizon, num_cameras)
        if cfg.fusion not in ("concat", "add"):
            raise ValueError(f"framework.fusion must be 'concat' or 'add', got {cfg.fusion!r}")
        self.cfg = cfg
        self.state_encoder = self.build_state_encoder(model_cfg)
        self.action_head = self.build_head(model_cfg, self.feature_dim)

    def features(self, images, state, input_ids, attention_mask, state_is_pad=None, use_cache=True):
        feats, mask = self.vlm(images, input_ids, attention_mask, use_cache=use_cache)
        return self.compose(feats, mask, state, state_is_pad)

    def compose(self, feats, mask, state, state_is_pad=None):
        state_tokens = self.state_encoder(state, state_is_pad)
        if self.cfg.fusion == "add":
            return feats + state_tokens.mean(dim=1, keepdim=True), mask
        state_mask = torch.ones(state_tokens.shape[:2], dtype=torch.bool, device=mask.device)
        return torch.cat([feats, state_tokens], dim=1), torch.cat([mask, state_mask], dim=1)
