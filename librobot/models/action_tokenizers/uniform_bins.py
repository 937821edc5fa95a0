"""Uniform binning (RT-2 / OpenVLA): every action value of the chunk is one token, its bin.

The normalized range ``[low, high]`` (``[-1, 1]`` under QUANTILES or MIN_MAX normalization) is cut into
``bins`` equal bins per dimension; values outside it fall into the end bins. A chunk is ``H * D``
tokens, time-major (all dimensions of step 0, then step 1, ...), and decodes to bin centres, so
``decode(encode(x))`` is within half a bin of ``x`` inside the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from librobot.models.action_tokenizers.base import ActionTokenizer
from librobot.registry import register_action_tokenizer


@dataclass
class UniformBinsConfig:
    bins: int = 256  # OpenVLA's count
    low: float = -1.0
    high: float = 1.0


@register_action_tokenizer("bins", aliases=["uniform_bins"])
class UniformBinsTokenizer(ActionTokenizer):
    name = "bins"
    config_class = UniformBinsConfig

    def __init__(self, cfg: UniformBinsConfig, action_horizon: int, action_dim: int):
        super().__init__(cfg, action_horizon, action_dim)
        if cfg.bins < 2:
            raise ValueError(f"action tokenizer bins must be >= 2, got {cfg.bins}")
        if not (np.isfinite(cfg.low) and np.isfinite(cfg.high) and cfg.low < cfg.high):
            raise ValueError(f"action tokenizer range needs finite low < high, got [{cfg.low}, {cfg.high}]")
        self.width = (cfg.high - cfg.low) / cfg.bins

    @property
    def vocab_size(self) -> int:
        return int(self.cfg.bins)

    @property
    def pad_code(self) -> int:
        return int(self._bin(np.zeros(1))[0])  # the bin that holds 0

    def _bin(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((x - self.cfg.low) / self.width), 0, self.cfg.bins - 1).astype(np.int64)

    def chunks_to_codes(self, chunks: np.ndarray) -> np.ndarray:
        return self._bin(chunks).reshape(len(chunks), -1)

    def codes_to_tokens(self, codes: np.ndarray) -> list[list[int]]:
        return np.asarray(codes, dtype=np.int64).tolist()

    def token_runs(self) -> list[list[int]]:
        return [[i] for i in range(self.cfg.bins)]

    def linear_map(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.num_codes
        return np.eye(n) * self.width, np.full(n, self.cfg.low + self.width / 2)
