"""State tokenizer: the normalized state binned into discrete tokens, as pi0.5 feeds proprioception.

Each normalized value is quantized into ``bins`` uniform bins over ``[low, high]``: with
``w = (high - low) / bins``, bin ``i`` covers ``[low + i*w, low + (i+1)*w)``; values below ``low``
fall in bin 0 and values at or above ``high`` in bin ``bins - 1`` (clamped). The default range
[-1, 1] is where MIN_MAX and QUANTILES normalization put the data; MEAN_STD gives z-scores, so widen
the range (e.g. ``encoder.low=-3 encoder.high=3``) or every value past one standard deviation lands
in an edge bin. The quantization is clamp, scale, floor and an integer cast: it exports to ONNX and
gives the same bins in torch and ONNX Runtime (both compute ``(x - low) / w`` in float32).

Every bin indexes one shared vocabulary (pi0.5 writes the bins as text tokens, and the position in
the text says which feature): a token is ``value[bin] + feature[f] + step[t]``, with learned feature
and step embeddings so the head can tell the tokens apart.

``tokens``:
  - ``per_feature`` (default): one token per value, ``[B, T * Ds, D]``, step-major (every feature of
    the oldest step first). The default because it is pi0.5's representation, the head can attend to
    a single joint, and at the state widths here it adds few tokens (Ds * T next to the VLM's).
  - ``per_step``: one token per step, ``[B, T, D]``: the sum over the step's features of each
    feature's token through a shared LayerNorm + Linear + GELU. The non-linearity keeps which value
    went with which feature (a plain sum of ``value[bin] + feature[f]`` does not change when two
    features swap values). Cheaper for a head that attends over every token when Ds * T is large.

Padded steps (``state_is_pad``): tokens never mix across steps, so a padded step's value cannot reach
a real step's tokens, which is what the history encoder's key mask guarantees. A padded step keeps the
tokens of its value: the dataset pads a window by repeating the episode's first state and so does
``Policy`` at an episode's start, where no padding flags reach the model (nor the exported graph), so
training and serving see the same tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from librobot.choices import Choice
from librobot.registry import register_encoder


class StateTokenMode(Choice):
    PER_FEATURE = "per_feature"  # one token per state value: [B, T * Ds, D]
    PER_STEP = "per_step"  # one token per step: [B, T, D]


@dataclass
class StateTokensConfig:
    bins: int = 256  # uniform bins per value, as pi0.5 and OpenVLA
    low: float = -1.0  # bin range in normalized units; values outside are clamped into the edge bins
    high: float = 1.0
    tokens: str = "per_feature"  # per_feature | per_step (StateTokenMode)
    layer_norm: bool = True  # normalize the output, so it mixes well with VLM tokens


def quantize(values: torch.Tensor, bins: int, low: float, high: float) -> torch.Tensor:
    """Bin index (int64) of every value: bin ``i`` covers ``[low + i*w, low + (i+1)*w)``, ``w = (high - low) / bins``;
    values outside ``[low, high)`` go to the nearest edge bin.

    The edges are exact when ``w`` is a power of two (the default, 2 / 256). Otherwise, and for a value
    within float32 rounding of an edge (``x - low`` rounds first: -1e-9 with ``low = -1`` is on the
    edge 0), the bin is float32 arithmetic's, which torch and ONNX Runtime share."""
    width = (high - low) / bins
    index = torch.floor((values - low) / width)
    return index.clamp(0, bins - 1).long()  # clamp before the cast: inf stays in range


@register_encoder("state_tokens", aliases=["state_tokenizer"])
class StateTokenEncoder(nn.Module):
    config_class = StateTokensConfig

    def __init__(self, cfg: StateTokensConfig, input_dim: int, output_dim: int, obs_horizon: int = 1):
        super().__init__()
        if cfg.bins < 2:
            raise ValueError(f"encoder.bins must be >= 2 (uniform bins over [low, high]); got {cfg.bins}")
        if not (math.isfinite(cfg.low) and math.isfinite(cfg.high) and cfg.low < cfg.high):
            raise ValueError(
                f"encoder.low and encoder.high must be finite with low < high (the bin range in normalized "
                f"units); got low={cfg.low}, high={cfg.high}"
            )
        self.mode = StateTokenMode.parse(cfg.tokens, "encoder.tokens")
        self.bins, self.low, self.high = cfg.bins, float(cfg.low), float(cfg.high)
        self.input_dim, self.output_dim, self.obs_horizon = input_dim, output_dim, obs_horizon
        self.value = nn.Embedding(cfg.bins, output_dim)
        nn.init.normal_(self.value.weight, std=0.02)
        self.feature = nn.Parameter(torch.randn(input_dim, output_dim) * 0.02)
        self.step = nn.Parameter(torch.randn(obs_horizon, output_dim) * 0.02)
        if self.mode == StateTokenMode.PER_STEP:
            # normalized first: the small initial embeddings would keep GELU in its near-linear range
            self.bind = nn.Sequential(nn.LayerNorm(output_dim), nn.Linear(output_dim, output_dim), nn.GELU())
        self.norm = nn.LayerNorm(output_dim) if cfg.layer_norm else nn.Identity()

    def forward(self, state: torch.Tensor, state_is_pad: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, Ds]`` (one step) or ``[B, T, Ds]`` -> tokens ``[B, T * Ds, D]`` (per_feature) or ``[B, T, D]``.

        ``state_is_pad`` is accepted for the encoder contract; see the module docstring for why a
        padded step keeps its tokens."""
        if state.dim() == 2:
            state = state[:, None, :]
        if state.dim() != 3 or tuple(state.shape[1:]) != (self.obs_horizon, self.input_dim):
            raise ValueError(
                f"state has shape {tuple(state.shape)}; the state_tokens encoder expects "
                f"[B, {self.obs_horizon}, {self.input_dim}]" + (" or [B, Ds]" if self.obs_horizon == 1 else "")
            )
        tokens = self.value(quantize(state, self.bins, self.low, self.high)) + self.feature  # [B, T, Ds, D]
        if self.mode == StateTokenMode.PER_STEP:
            tokens = self.bind(tokens).sum(dim=2) + self.step  # [B, T, D]
        else:
            tokens = (tokens + self.step[:, None, :]).flatten(1, 2)  # [B, T * Ds, D], step-major
        return self.norm(tokens)
