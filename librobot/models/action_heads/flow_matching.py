"""Flow-matching head (pi0 / GR00T N1 style).

Training: ``x_t = t * noise + (1 - t) * actions`` with ``t ~ Beta(1.5, 1)`` (more weight on noisy
times, as in pi0) and the network regresses the velocity ``noise - actions``. Inference integrates
from ``t = 1`` (noise) to ``t = 0`` with a fixed number of Euler steps, unrolled, so it exports as
one graph. The denoiser is DiT-style: adaLN-Zero timestep conditioning and cross-attention to the
features, whose keys/values are computed once per observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from librobot.models.action_heads.sampling import SamplingHead
from librobot.models.layers import masked_action_loss
from librobot.registry import register_action_head


@dataclass
class FlowMatchingConfig:
    hidden_dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    dropout: float = 0.0
    # Euler steps at predict time. 4 is GR00T's choice; on the default experiment's trained weights and
    # seeds 10, 4, 2 and 1 steps succeeded 40, 39, 40 and 40 times of 40, and the camera + proprio
    # policy 18, 18 and 19 of 40 at 10, 4 and 2 (docs/results/metaworld.md); a step is ~0.5 ms of a chunk
    num_inference_steps: int = 4
    time_beta_alpha: float = 1.5  # t ~ Beta(alpha, beta) during training
    time_beta_beta: float = 1.0


@register_action_head("flow_matching", aliases=["flow"])
class FlowMatchingHead(SamplingHead):
    config_class = FlowMatchingConfig

    def __init__(self, cfg: FlowMatchingConfig, feature_dim: int, action_dim: int, action_horizon: int):
        if cfg.num_inference_steps < 1:
            raise ValueError(f"action_head.num_inference_steps must be >= 1, got {cfg.num_inference_steps}")
        super().__init__(cfg, feature_dim, action_dim, action_horizon, adaln=True, time_scale=1000.0)

    def sample_time(self, b: int, device: torch.device) -> torch.Tensor:
        beta = torch.distributions.Beta(
            torch.tensor(self.cfg.time_beta_alpha, device=device), torch.tensor(self.cfg.time_beta_beta, device=device)
        )
        return beta.sample((b,)) * 0.999 + 0.001

    def forward(self, features, feature_mask, actions, action_is_pad=None) -> dict[str, torch.Tensor]:
        self.check_actions(actions)
        noise = torch.randn_like(actions)
        t = self.sample_time(actions.shape[0], actions.device)
        x_t = t[:, None, None] * noise + (1 - t[:, None, None]) * actions
        v = self.denoiser(x_t, t, self.context(features, feature_mask))
        loss = masked_action_loss(F.mse_loss(v, noise - actions, reduction="none"), action_is_pad)
        return {"loss": loss, "mse_velocity": loss.detach()}

    def sample(self, noise, context) -> torch.Tensor:
        """Euler steps from t = 1 (noise) to t = 0."""
        x, n = noise, self.cfg.num_inference_steps
        for i in range(n):
            t = torch.full((x.shape[0],), 1.0 - i / n, device=x.device)
            x = x - self.denoiser(x, t, context) / n
        return x
