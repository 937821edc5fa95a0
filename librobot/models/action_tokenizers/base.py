"""What every action tokenizer offers: normalized chunks <-> token ids, and tables that decode in a graph.

Every tokenizer here decodes in the same two fixed steps, so a model can run the decoding inside its
exported graph with two lookups and one matmul (``DecodeTables``), and numpy runs the very same steps:

1. each token id stands for a fixed, non-empty run of integer *codes*; the codes of a sequence are
   its tokens' runs one after the other, padded with ``pad_code`` (or cut) to ``num_codes``;
2. the chunk is affine in the codes: ``chunk.ravel() = codes @ linear + offset``.

Uniform binning: one code (the bin) per token, the linear map gives the bin centre. FAST: a BPE token
is a run of rounded DCT coefficients; the inverse DCT and the 1/scale are the linear map.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from librobot.registry import component_config, get

FORMAT = "librobot.action_tokenizer/1"


@dataclass
class DecodeTables:
    """Everything decoding needs, as arrays (a model registers them as buffers: graph constants)."""

    token_codes: np.ndarray  # int64 [vocab_size, max_run]: each id's run of codes, zero-padded
    token_lengths: np.ndarray  # int64 [vocab_size]: run lengths; 0 marks an id the tokenizer never emits
    pad_code: int  # the code that fills a sequence shorter than num_codes
    linear: np.ndarray  # float64 [num_codes, H * D]
    offset: np.ndarray  # float64 [H * D]


class ActionTokenizer(abc.ABC):
    """A normalized action chunk ``[H, D]`` <-> a list of token ids in ``0 .. vocab_size - 1``."""

    name: str  # the registered name, written into the JSON file
    config_class: type

    def __init__(self, cfg: Any, action_horizon: int, action_dim: int):
        if action_horizon < 1 or action_dim < 1:
            raise ValueError(
                f"action tokenizer needs action_horizon, action_dim >= 1; got {action_horizon}, {action_dim}"
            )
        self.cfg = cfg
        self.action_horizon, self.action_dim = int(action_horizon), int(action_dim)
        self.fitted = False  # True once fitted on (or loaded from) training data
        self.fit_stats: dict[str, Any] = {}
        self._runs: list[list[int]] | None = None

    # -- what each tokenizer defines ------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Ids are ``0 .. vocab_size - 1``; fixed by the config, so a model's output width is known before fitting."""

    @property
    @abc.abstractmethod
    def pad_code(self) -> int:
        """The code that stands for "nothing more" (FAST: a zero coefficient)."""

    @abc.abstractmethod
    def chunks_to_codes(self, chunks: np.ndarray) -> np.ndarray:
        """Checked chunks ``[N, H, D]`` -> codes int64 ``[N, num_codes]``."""

    @abc.abstractmethod
    def codes_to_tokens(self, codes: np.ndarray) -> list[list[int]]:
        """Codes ``[N, num_codes]`` -> one list of token ids per chunk."""

    @abc.abstractmethod
    def token_runs(self) -> list[list[int]]:
        """The run of codes of every id ``0 .. vocab_size - 1`` (empty: an id this tokenizer never emits)."""

    @abc.abstractmethod
    def linear_map(self) -> tuple[np.ndarray, np.ndarray]:
        """``(linear [num_codes, H * D], offset [H * D])``: ``chunk.ravel() = codes @ linear + offset``."""

    def state_dict(self) -> dict[str, Any]:
        """What fitting learned, as JSON-ready values (nothing for tokenizers that do not fit)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``state_dict``; tokenizers that learn nothing accept only an empty state."""
        if state:
            raise ValueError(f"the {self.name} tokenizer learns nothing from data; got state keys {sorted(state)}")

    def fit(self, chunks: np.ndarray) -> ActionTokenizer:
        """Learn from normalized training chunks ``[N, H, D]``; tokenizers with nothing to learn only check them."""
        chunks = self.check_chunks(chunks)
        self.fitted = True
        self.fit_stats = self.describe(chunks)
        return self

    # -- shared -------------------------------------------------------------------------------------
    @property
    def num_codes(self) -> int:
        return self.action_horizon * self.action_dim

    def check_chunks(self, chunks: Any) -> np.ndarray:
        arr = np.asarray(chunks, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        expected = (self.action_horizon, self.action_dim)
        if arr.ndim != 3 or arr.shape[1:] != expected:
            raise ValueError(
                f"action chunks have shape {tuple(np.shape(chunks))}; the {self.name} tokenizer expects "
                f"[N, {expected[0]}, {expected[1]}] (action_horizon, action_dim)"
            )
        if not np.isfinite(arr).all():
            raise ValueError(
                f"action chunks hold non-finite values (NaN or inf); the {self.name} tokenizer needs finite ones"
            )
        return arr

    def encode(self, chunks: Any) -> list[list[int]]:
        """Normalized chunks ``[N, H, D]`` (or one ``[H, D]``) -> token ids, one list per chunk."""
        return self.codes_to_tokens(self.chunks_to_codes(self.check_chunks(chunks)))

    def decode(self, tokens: Sequence[Sequence[int]]) -> np.ndarray:
        """Token id lists -> chunks ``[N, H, D]``: runs joined, padded with ``pad_code`` or cut to ``num_codes``."""
        runs = self.runs()
        codes = np.full((len(tokens), self.num_codes), self.pad_code, dtype=np.int64)
        for i, seq in enumerate(tokens):
            joined: list[int] = []
            for t in seq:
                t = int(t)
                if not 0 <= t < len(runs) or not runs[t]:
                    raise ValueError(f"token id {t} is not in the {self.name} tokenizer's vocabulary")
                joined.extend(runs[t])
            joined = joined[: self.num_codes]
            codes[i, : len(joined)] = joined
        return self.codes_to_chunks(codes)

    def codes_to_chunks(self, codes: np.ndarray) -> np.ndarray:
        linear, offset = self.linear_map()
        flat = np.asarray(codes, dtype=np.float64) @ linear + offset
        return flat.reshape(len(flat), self.action_horizon, self.action_dim)

    def runs(self) -> list[list[int]]:
        if self._runs is None:
            self._runs = self.token_runs()
        return self._runs

    def decode_tables(self) -> DecodeTables:
        runs = self.runs()
        width = max(1, max(len(r) for r in runs))
        codes = np.zeros((self.vocab_size, width), dtype=np.int64)
        lengths = np.zeros(self.vocab_size, dtype=np.int64)
        for i, run in enumerate(runs):
            codes[i, : len(run)] = run
            lengths[i] = len(run)
        linear, offset = self.linear_map()
        return DecodeTables(codes, lengths, int(self.pad_code), linear, offset)

    def describe(self, chunks: np.ndarray) -> dict[str, Any]:
        """Token counts on ``chunks``: how well the tokenizer compresses them."""
        counts = np.array([len(t) for t in self.encode(chunks)])
        return {
            "chunks": len(chunks),
            "codes_per_chunk": self.num_codes,
            "vocabulary_used": sum(1 for r in self.runs() if r),
            "mean_tokens": round(float(counts.mean()), 3) if len(counts) else 0.0,
            "max_tokens": int(counts.max()) if len(counts) else 0,
        }

    # -- JSON ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "config": dataclasses.asdict(self.cfg),
            "action_horizon": self.action_horizon,
            "action_dim": self.action_dim,
            "fitted": self.fitted,
            "fit_stats": self.fit_stats,
            "state": self.state_dict(),
        }


def build_action_tokenizer(
    node: Mapping[str, Any], action_horizon: int, action_dim: int, path: str = "action_tokenizer"
) -> ActionTokenizer:
    """The tokenizer named by ``node["name"]``, its fields checked against its config class (errors name ``path``)."""
    params = component_config("action_tokenizer", node, path=path)
    return get("action_tokenizer", str(node["name"]))(params, action_horizon=action_horizon, action_dim=action_dim)


def tokenizer_from_dict(data: Any, where: str = "action tokenizer") -> ActionTokenizer:
    """Inverse of ``ActionTokenizer.to_dict``; ``where`` (a file name) prefixes every error."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{where}: expected an object with format {FORMAT!r}, got {got!r}")
    missing = [k for k in ("name", "config", "action_horizon", "action_dim", "state") if k not in data]
    if missing:
        raise ValueError(f"{where}: missing keys {missing}")
    try:
        tokenizer = build_action_tokenizer(
            {"name": data["name"], **dict(data["config"])},
            int(data["action_horizon"]),
            int(data["action_dim"]),
            path=f"{where}: config",
        )
        tokenizer.load_state_dict(data["state"])
    except (KeyError, TypeError) as err:
        raise ValueError(f"{where}: {err}") from None
    tokenizer.fitted = bool(data.get("fitted", False))
    tokenizer.fit_stats = dict(data.get("fit_stats") or {})
    return tokenizer
