"""Diffusion head: DDPM training with noise (epsilon) prediction, DDIM sampling.

The denoiser is a transformer over the noisy action chunk, conditioned on the features by
cross-attention and on the timestep by sinusoidal embeddings. Sampling runs a fixed number of
DDIM steps (deterministic, eta = 0), unrolled, so the whole sampler exports as one graph; the
initial noise is an input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from librobot.choices import BetaSchedule
from librobot.models.action_heads.sampling import SamplingHead
from librobot.models.layers import masked_action_loss
from librobot.registry import register_action_head


@dataclass
class DiffusionTransformerConfig:
    hidden_dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    dropout: float = 0.0
    num_train_timesteps: int = 100
    num_inference_steps: int = 10  # DDIM steps at predict time
    beta_schedule: str = "squaredcos_cap_v2"  # or "linear"
    # clip the predicted clean chunk to [-c, c] while sampling: keeps DDIM stable at the noisiest steps,
    # where epsilon errors are amplified; QUANTILES normalization maps q01..q99 to [-1, 1]. null: off
    clip_sample: float | None = 1.0


def make_betas(schedule: str, steps: int) -> torch.Tensor:
    schedule = BetaSchedule.parse(schedule, "action_head.beta_schedule")
    if schedule == BetaSchedule.LINEAR:
        return torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)

    # squaredcos_cap_v2: Nichol & Dhariwal's cosine schedule
    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    return torch.tensor(
        [min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), 0.999) for i in range(steps)],
        dtype=torch.float64,
    )


@register_action_head("diffusion_transformer", aliases=["diffusion"])
class DiffusionTransformerHead(SamplingHead):
    config_class = DiffusionTransformerConfig

    def __init__(self, cfg: DiffusionTransformerConfig, feature_dim: int, action_dim: int, action_horizon: int):
        if not 1 <= cfg.num_inference_steps <= cfg.num_train_timesteps:
            raise ValueError(
                f"action_head.num_inference_steps must be in [1, num_train_timesteps={cfg.num_train_timesteps}], "
                f"got {cfg.num_inference_steps}"
            )
        super().__init__(cfg, feature_dim, action_dim, action_horizon, adaln=False, time_scale=1.0)
        alphas_cumprod = torch.cumprod(1 - make_betas(cfg.beta_schedule, cfg.num_train_timesteps), dim=0)
        self.register_buffer("alphas_cumprod", alphas_cumprod.float(), persistent=False)
        # DDIM timesteps, evenly spaced from the noisiest down to 0; fixed at build time so the loop unrolls
        step = cfg.num_train_timesteps // cfg.num_inference_steps
        self.inference_timesteps = [int(t) for t in range(cfg.num_train_timesteps - 1, -1, -step)][
            : cfg.num_inference_steps
        ]
        self._abar = [float(a) for a in alphas_cumprod]

    def forward(self, features, feature_mask, actions, action_is_pad=None) -> dict[str, torch.Tensor]:
        self.check_actions(actions)
        b = actions.shape[0]
        noise = torch.randn_like(actions)
        t = torch.randint(0, self.cfg.num_train_timesteps, (b,), device=actions.device)
        abar = self.alphas_cumprod[t][:, None, None]
        noisy = abar.sqrt() * actions + (1 - abar).sqrt() * noise
        eps = self.denoiser(noisy, t.float(), self.context(features, feature_mask))
        loss = masked_action_loss(F.mse_loss(eps, noise, reduction="none"), action_is_pad)
        return {"loss": loss, "mse_eps": loss.detach()}

    def sample(self, noise, context) -> torch.Tensor:
        """DDIM (eta = 0) over the fixed timesteps, the predicted clean chunk clipped when configured."""
        x, ts = noise, self.inference_timesteps
        for i, t in enumerate(ts):
            abar = self._abar[t]
            abar_prev = self._abar[ts[i + 1]] if i + 1 < len(ts) else 1.0
            eps = self.denoiser(x, torch.full((x.shape[0],), float(t), device=x.device), context)
            x0 = (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
            if self.cfg.clip_sample is not None:
                x0 = x0.clamp(-self.cfg.clip_sample, self.cfg.clip_sample)
                eps = (x - math.sqrt(abar) * x0) / math.sqrt(1 - abar)
            x = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps
        return x
