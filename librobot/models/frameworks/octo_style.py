"""Octo-style framework (Octo Model Team, 2024): one transformer over task, observation and readout
tokens with block-causal attention; the action head reads only the readout tokens.

The sequence, in order: task tokens (the instruction's tokens from the VLM), observation tokens (the
VLM's image tokens, then the state encoder's tokens; each belongs to a step of the observation window)
and ``num_readouts`` learned readout tokens. Who attends to whom (``block_causal_mask``):

- task tokens attend to task tokens only: the instruction's encoding never depends on the observation;
- observation tokens attend to task tokens and to observation tokens of the same or earlier steps;
- readout tokens attend to task tokens, observation tokens up to their step, and each other;
- nothing attends to the readouts: they read the sequence without changing it, which is what lets Octo
  add readout groups (heads) without touching what the other tokens compute.

Images enter at the window's last step (the dataset gives the current frame); the state encoder gives
one token per step (``model/encoder=history``) or one token for the whole window at its last step
(``mlp``). Readouts sit at the last step: only they feed the head, so readouts of earlier steps would
change nothing. The head (diffusion, as in Octo, or any other) is built by name and reads the readout
outputs as its feature tokens.

The VLM must say which of its tokens are image tokens and which the instruction's
(``VLMBackbone.image_token_count``): the transformers VLMs run one language model over
[images; instruction], so their instruction tokens have seen the images, and they are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import torch
from torch import nn

from librobot.models.frameworks.base import VLAFramework
from librobot.models.layers import TransformerBlock
from librobot.registry import register_framework


@dataclass
class OctoStyleConfig:
    num_layers: int = 2  # transformer layers over [task; observation; readout] tokens
    num_heads: int = 4
    num_readouts: int = 4  # learned readout tokens; the action head reads their outputs
    dropout: float = 0.0


class TokenRole(IntEnum):
    TASK = 0
    OBSERVATION = 1
    READOUT = 2


class TokenSequence(NamedTuple):
    tokens: torch.Tensor  # [B, N, D], role and step embeddings added
    roles: torch.Tensor  # long [N], a TokenRole per token
    steps: torch.Tensor  # long [N], the observation step of each token (0 for task tokens, unused)
    valid: torch.Tensor  # bool [B, N], False for padding (instruction padding, padded state steps)


def block_causal_mask(roles: torch.Tensor, steps: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """bool [B, N, N]: True where query token i may attend to key token j (Octo's rules, module docstring)."""
    q_role, k_role = roles[:, None], roles[None, :]
    q_step, k_step = steps[:, None], steps[None, :]
    task_key = k_role == int(TokenRole.TASK)
    earlier_obs = (q_role != int(TokenRole.TASK)) & (k_role == int(TokenRole.OBSERVATION)) & (k_step <= q_step)
    readouts = (q_role == int(TokenRole.READOUT)) & (k_role == int(TokenRole.READOUT)) & (k_step == q_step)
    return (task_key | earlier_obs | readouts)[None] & valid[:, None, :]


class OctoTransformer(nn.Module):
    def __init__(self, width: int, num_layers: int, num_heads: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(
            TransformerBlock(width, num_heads, cross=False, dropout=dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """tokens [B, N, D], mask bool [B, N, N] (``block_causal_mask``) -> [B, N, D]."""
        h = tokens
        for blk in self.blocks:
            h = blk(h, self_mask=mask)
        return self.norm(h)


@register_framework("octo_style", aliases=["octo"])
class OctoStyle(VLAFramework):
    config_class = OctoStyleConfig

    def __init__(
        self, cfg: OctoStyleConfig, model_cfg, state_dim, action_dim, action_horizon, obs_horizon=1, num_cameras=1
    ):
        super().__init__(model_cfg, state_dim, action_dim, action_horizon, obs_horizon, num_cameras)
        width = self.feature_dim
        if cfg.num_readouts < 1 or cfg.num_layers < 1:
            raise ValueError(
                f"framework.num_readouts and framework.num_layers must be >= 1, got {cfg.num_readouts}, {cfg.num_layers}"
            )
        if cfg.num_heads < 1 or width % cfg.num_heads:
            raise ValueError(f"framework.num_heads={cfg.num_heads} must divide the VLM's feature width {width}")
        n_image = self.vlm.image_token_count()
        if n_image is None:
            raise ValueError(
                f"framework octo_style keeps instruction and image tokens apart, but model/vlm={model_cfg.vlm.name} "
                f"({type(self.vlm).__name__}) cannot say which are which (VLMBackbone.image_token_count is None: "
                "one network mixes them); use model/vlm=small_pretrained"
            )
        self.cfg, self.num_image_tokens = cfg, int(n_image)
        self.state_encoder = self.build_state_encoder(model_cfg)
        self.role_emb = nn.Parameter(torch.randn(len(TokenRole), width) * 0.02)
        self.step_emb = nn.Parameter(torch.randn(obs_horizon, width) * 0.02)
        self.readouts = nn.Parameter(torch.randn(cfg.num_readouts, width) * 0.02)
        self.transformer = OctoTransformer(width, cfg.num_layers, cfg.num_heads, cfg.dropout)
        self.action_head = self.build_head(model_cfg, width)

    def sequence(self, images, state, input_ids, attention_mask, state_is_pad=None, use_cache=True) -> TokenSequence:
        """The transformer's input: [task; image; state; readout] tokens with their roles, steps, padding."""
        feats, mask = self.vlm(images, input_ids, attention_mask, use_cache=use_cache)
        n_image, last = self.num_image_tokens, self.obs_horizon - 1
        state_tokens = self.state_encoder(state, state_is_pad)
        state_steps, state_valid = self._state_steps(state_tokens, state_is_pad)
        device, r = feats.device, self.cfg.num_readouts
        readouts = self.readouts.expand(feats.shape[0], -1, -1)
        readout_valid = torch.ones(readouts.shape[:2], dtype=torch.bool, device=device)
        image_steps, readout_steps = torch.full((n_image,), last, device=device), torch.full((r,), last, device=device)
        parts = [  # (tokens, valid, role, step of each token)
            (feats[:, n_image:], mask[:, n_image:], TokenRole.TASK, None),
            (feats[:, :n_image], mask[:, :n_image], TokenRole.OBSERVATION, image_steps),
            (state_tokens, state_valid, TokenRole.OBSERVATION, state_steps),
            (readouts, readout_valid, TokenRole.READOUT, readout_steps),
        ]
        tokens, valid, roles, steps = [], [], [], []
        for tok, ok, role, step in parts:
            n = tok.shape[1]
            step = torch.zeros(n, dtype=torch.long, device=device) if step is None else step.long()
            emb = self.role_emb[int(role)]
            if role != TokenRole.TASK:  # task tokens belong to no step
                emb = emb + self.step_emb[step]
            tokens.append(tok + emb)
            valid.append(ok.bool())
            roles.append(torch.full((n,), int(role), dtype=torch.long, device=device))
            steps.append(step)
        return TokenSequence(torch.cat(tokens, 1), torch.cat(roles), torch.cat(steps), torch.cat(valid, 1))

    def features(self, images, state, input_ids, attention_mask, state_is_pad=None, use_cache=True):
        seq = self.sequence(images, state, input_ids, attention_mask, state_is_pad, use_cache)
        out = self.transformer(seq.tokens, block_causal_mask(seq.roles, seq.steps, seq.valid))
        readouts = out[:, -self.cfg.num_readouts :]
        return readouts, torch.ones(readouts.shape[:2], dtype=torch.bool, device=readouts.device)

    def _state_steps(self, state_tokens, state_is_pad) -> tuple[torch.Tensor, torch.Tensor]:
        """The step of each state token, and which are real: one token per step, or one for the window."""
        n, horizon, device = state_tokens.shape[1], self.obs_horizon, state_tokens.device
        if n == horizon:
            steps = torch.arange(horizon, device=device)
            valid = torch.ones(state_tokens.shape[:2], dtype=torch.bool, device=device)
            return steps, valid if state_is_pad is None else ~state_is_pad.bool()
        if n == 1:  # the whole window in one token: it has seen the last step
            return torch.full((1,), horizon - 1, device=device), torch.ones_like(state_tokens[..., 0], dtype=torch.bool)
        raise ValueError(
            f"the state encoder (model.encoder.name) gave {n} tokens for an observation window of {horizon} steps; "
            "octo_style places one token per step (history) or one for the window (mlp)"
        )
