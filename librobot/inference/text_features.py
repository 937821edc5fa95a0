"""The instruction's features, computed once per instruction: the text graph behind an LRU cache.

A robot sends the same instruction on every call of an episode, and MiniLM's forward cost about as
much as the rest of the policy (benchmarks/latency_blocks.py). Where the framework encodes the
instruction apart from the observation (``VLAFramework.splits_text``), export writes two graphs:
``text.onnx`` (``input_ids, attention_mask -> text_tokens [B, Nt, D], text_mask bool [B, Nt]``) and
the policy graph, which takes ``text_tokens, text_mask`` instead of the token ids. ``TextFeatures``
runs the text graph for the instructions it has not seen and keeps their rows, keyed by their token
ids (padding dropped), so each request of a batch gets the features of its own instruction
whatever its neighbours send. A policy graph that takes token ids (an older export, or a VLM that
mixes images and text in one network) needs no text graph.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

TEXT_ONNX_FILE = "text.onnx"  # beside the policy graph(s) it serves: one text graph for fp32 and int8
TEXT_ONNX_INPUTS = ("input_ids", "attention_mask")
TEXT_ONNX_OUTPUTS = ("text_tokens", "text_mask")
DEFAULT_MAX_ENTRIES = 1024  # instructions kept; a pooled entry is D floats, a word-piece sequence Nt x D


def takes_text_features(input_names: list[str]) -> bool:
    """True for a policy graph whose instruction input is the text graph's output, not token ids."""
    return TEXT_ONNX_OUTPUTS[0] in input_names


class TextFeatures:
    """``(input_ids, attention_mask) -> (text_tokens float32 [B, Nt, D], text_mask bool [B, Nt])``.

    A row is cached as its valid tokens alone (where ``text_mask`` is True; the VLM contract says the
    other positions carry nothing), and a batch is assembled by padding each row to the longest with
    zeros and False. Thread-safe: the service's model thread and any other caller may share it.
    """

    def __init__(self, path: str | Path, threads: int | None = None, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"{self.path} is missing: the policy graph beside it takes the instruction's features "
                "(text_tokens) from this text graph; re-export the bundle (`librobot export --policy <bundle>`)"
            )
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in self.session.get_outputs()]
        if tuple(names) != TEXT_ONNX_OUTPUTS:
            raise ValueError(f"{self.path.name} outputs {names}; a text graph outputs {list(TEXT_ONNX_OUTPUTS)}")
        self.max_entries = max_entries
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.graph_calls = 0  # text-graph runs; benchmarks and tests read these three counters
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(input_ids: np.ndarray, attention_mask: np.ndarray) -> bytes:
        """One instruction's token ids without its padding: the same text gives the same key in any batch."""
        return np.ascontiguousarray(input_ids[attention_mask.astype(bool)], dtype=np.int64).tobytes()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        input_ids = np.asarray(input_ids, dtype=np.int64)
        attention_mask = np.asarray(attention_mask, dtype=np.int64)
        if input_ids.ndim != 2 or input_ids.shape != attention_mask.shape:
            raise ValueError(
                f"input_ids {input_ids.shape} and attention_mask {attention_mask.shape} must both be [B, L]"
            )
        keys = [self.key(ids, mask) for ids, mask in zip(input_ids, attention_mask, strict=True)]
        rows: dict[bytes, np.ndarray] = {}
        with self._lock:
            for k in keys:
                if k in self._rows:
                    self._rows.move_to_end(k)
                    rows[k] = self._rows[k]
        missing = list(dict.fromkeys(k for k in keys if k not in rows))  # each new instruction once, in order
        if missing:
            first = [keys.index(k) for k in missing]
            rows.update(zip(missing, self._compute(input_ids[first], attention_mask[first]), strict=True))
        with self._lock:
            for k in missing:
                self._rows[k] = rows[k]
                self._rows.move_to_end(k)
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)
            self.misses += len(missing)
            self.hits += len(keys) - len(missing)  # rows served without running the text graph for them
        return pad_rows([rows[k] for k in keys])

    def _compute(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        tokens, mask = self.session.run(
            list(TEXT_ONNX_OUTPUTS), {TEXT_ONNX_INPUTS[0]: input_ids, TEXT_ONNX_INPUTS[1]: attention_mask}
        )
        with self._lock:
            self.graph_calls += 1
        return [np.array(t[m.astype(bool)], dtype=np.float32) for t, m in zip(tokens, mask, strict=True)]

    def __len__(self) -> int:
        return len(self._rows)


def pad_rows(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows [Nt_i, D] -> tokens [B, max Nt, D] (zeros after each row) and mask [B, max Nt]."""
    longest = max(len(r) for r in rows)
    tokens = np.zeros((len(rows), longest, rows[0].shape[-1]), dtype=np.float32)
    mask = np.zeros((len(rows), longest), dtype=bool)
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = row
        mask[i, : len(row)] = True
    return tokens, mask
