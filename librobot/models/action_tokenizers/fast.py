"""FAST (Pertsch et al. 2025, "FAST: Efficient Action Tokenization for VLA Models"): DCT + BPE.

Encoding a normalized chunk ``[H, D]``: the orthonormal DCT-II of each dimension along time, times
``scale``, rounded to integers (the only lossy step), flattened low frequency first
(``[c0d0, c0d1, ..., c1d0, ...]``: every dimension's coefficient k before any k + 1), then byte-pair
encoded. The BPE is trained on the training split's chunks with the ``tokenizers`` library, each
integer mapped to one character as FAST's reference does. Smooth chunks have few non-zero
high-frequency coefficients, so long runs of zeros merge into a few tokens: far fewer tokens than
the ``H * D`` values binning needs.

Decoding joins the tokens' characters back into integers, pads with zeros (or cuts) to ``H * D``
coefficients, divides by ``scale`` and applies the inverse DCT: ``decode(encode(x))`` is exactly the
inverse DCT of the rounded coefficients, within ``0.5 * sqrt(H) / scale`` of ``x`` per dimension (L2).
Coefficients outside the range seen in training are clipped to it, so every chunk encodes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from librobot.models.action_tokenizers.base import ActionTokenizer
from librobot.registry import register_action_tokenizer

# integer code c is the character BASE + (c - min_code): CJK ideographs, a block of 20,992 assigned
# characters with no whitespace, controls or combining marks that a tokenizer could treat specially
BASE = 0x4E00
MAX_ALPHABET = 20_000


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II ``C [n, n]``: coefficients ``C @ x`` along time, inverse ``C.T @ coefficients``."""
    k = np.arange(n)[:, None]
    t = np.arange(n)[None, :]
    c = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * t + 1) * k / (2 * n))
    c[0] /= np.sqrt(2.0)
    return c


@dataclass
class FASTConfig:
    scale: float = 10.0  # coefficients are rounded after multiplying by this: larger keeps more detail, costs tokens
    vocab_size: int = 1024  # BPE vocabulary, FAST's default; the head's output width
    min_frequency: int = 2  # BPE merges only pairs seen at least this often
    fit_samples: int = 20_000  # training chunks (a seeded draw) the BPE is fitted on


@register_action_tokenizer("fast")
class FASTTokenizer(ActionTokenizer):
    name = "fast"
    config_class = FASTConfig

    def __init__(self, cfg: FASTConfig, action_horizon: int, action_dim: int):
        super().__init__(cfg, action_horizon, action_dim)
        if not cfg.scale > 0:
            raise ValueError(f"fast tokenizer scale must be > 0, got {cfg.scale}")
        if cfg.min_frequency < 1 or cfg.fit_samples < 1:
            raise ValueError(
                f"fast tokenizer min_frequency and fit_samples must be >= 1, got {cfg.min_frequency}, {cfg.fit_samples}"
            )
        self.dct = dct_matrix(action_horizon)
        # before fitting: the codes any chunk in [-1, 1] can give (an orthonormal DCT keeps each dimension's
        # L2 norm, at most sqrt(H)), one token per code and no merges: valid, just not compressed
        bound = math.ceil(cfg.scale * math.sqrt(action_horizon))
        self._set_alphabet(-bound, bound)
        self.bpe = self._plain_bpe()

    # -- the alphabet: one character per integer code ------------------------------------------------
    def _set_alphabet(self, min_code: int, max_code: int) -> None:
        size = max_code - min_code + 1
        if size > min(self.cfg.vocab_size, MAX_ALPHABET):
            raise ValueError(
                f"fast tokenizer vocab_size={self.cfg.vocab_size} cannot hold the {size} distinct rounded DCT "
                f"coefficients {min_code}..{max_code} at scale {self.cfg.scale} (at most {MAX_ALPHABET}); "
                "raise vocab_size or lower scale"
            )
        self.min_code, self.max_code = int(min_code), int(max_code)
        self._runs = None

    def _alphabet(self) -> list[str]:
        return [chr(BASE + i) for i in range(self.max_code - self.min_code + 1)]

    def _plain_bpe(self):
        from tokenizers import Tokenizer, models

        return Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(self._alphabet())}, merges=[]))

    def _strings(self, codes: np.ndarray) -> list[str]:
        chars = (np.asarray(codes, dtype=np.int64) - self.min_code + BASE).astype("<u4")
        return [row.tobytes().decode("utf-32-le") for row in chars]

    # -- the tokenizer contract ----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return int(self.cfg.vocab_size)

    @property
    def pad_code(self) -> int:
        return 0  # a zero coefficient: a short sequence leaves the highest frequencies out

    def coefficients(self, chunks: np.ndarray) -> np.ndarray:
        """DCT-II along time of each dimension, flattened low frequency first: ``[N, H * D]``."""
        return np.einsum("kt,ntd->nkd", self.dct, chunks).reshape(len(chunks), -1)

    def chunks_to_codes(self, chunks: np.ndarray) -> np.ndarray:
        codes = np.rint(self.coefficients(chunks) * self.cfg.scale)
        return np.clip(codes, self.min_code, self.max_code).astype(np.int64)

    def codes_to_tokens(self, codes: np.ndarray) -> list[list[int]]:
        return [enc.ids for enc in self.bpe.encode_batch(self._strings(codes))]

    def token_runs(self) -> list[list[int]]:
        runs: list[list[int]] = [[] for _ in range(self.vocab_size)]
        for token, i in self.bpe.get_vocab().items():
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"fast tokenizer: BPE id {i} of {token!r} is outside vocab_size={self.vocab_size}")
            run = [ord(ch) - BASE + self.min_code for ch in token]
            if not run or not all(self.min_code <= c <= self.max_code for c in run):
                raise ValueError(
                    f"fast tokenizer: BPE token {i} {token!r} is not made of coefficient characters "
                    f"{self.min_code}..{self.max_code}"
                )
            runs[i] = run
        singles = {r[0] for r in runs if len(r) == 1}
        missing = [c for c in range(self.min_code, self.max_code + 1) if c not in singles]
        if missing:
            raise ValueError(f"fast tokenizer: the BPE vocabulary lacks the single coefficients {missing[:5]}")
        return runs

    def linear_map(self) -> tuple[np.ndarray, np.ndarray]:
        # codes [k * D + d] -> chunk [t * D + d]: x[t, d] = sum_k C[k, t] * code[k, d] / scale
        linear = np.kron(self.dct, np.eye(self.action_dim)) / self.cfg.scale
        return linear, np.zeros(self.num_codes)

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(self, chunks: np.ndarray) -> FASTTokenizer:
        """Set the code range from ``chunks`` and train the BPE on them (a seeded draw of ``fit_samples``)."""
        from tokenizers import Tokenizer, models, trainers

        chunks = self.check_chunks(chunks)
        if len(chunks) > self.cfg.fit_samples:
            pick = np.random.default_rng(0).choice(len(chunks), self.cfg.fit_samples, replace=False)
            chunks = chunks[np.sort(pick)]
        codes = np.rint(self.coefficients(chunks) * self.cfg.scale).astype(np.int64)
        self._set_alphabet(int(codes.min()), int(codes.max()))
        trainer = trainers.BpeTrainer(
            vocab_size=self.cfg.vocab_size,
            min_frequency=self.cfg.min_frequency,
            show_progress=False,
            special_tokens=[],
            initial_alphabet=self._alphabet(),
        )
        bpe = Tokenizer(models.BPE())
        bpe.train_from_iterator(self._strings(codes), trainer=trainer)
        self.bpe = bpe
        self._runs = None
        self.runs()  # checks the trained vocabulary
        self.fitted = True
        self.fit_stats = self.describe(chunks)
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"min_code": self.min_code, "max_code": self.max_code, "bpe": json.loads(self.bpe.to_str())}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        from tokenizers import Tokenizer

        self._set_alphabet(int(state["min_code"]), int(state["max_code"]))
        try:
            self.bpe = Tokenizer.from_str(json.dumps(state["bpe"]))
        except Exception as err:  # noqa: BLE001  (the library raises its own exception type)
            raise ValueError(f"fast tokenizer: state.bpe is not a tokenizers JSON: {err}") from None
        self.runs()
