"""A bounded cache of frozen-backbone outputs, keyed by the content of the input.

A frozen image encoder maps the same frame to the same features every epoch, and instructions repeat
across a whole dataset; computing them once turns the dominant cost of CPU training into a lookup.
Keys are digests of the input bytes, so the cache is correct whatever the data source; values are
stored in float32 on the CPU (exact: a cached lookup returns what a fresh pass returns). Once ``max_bytes`` is reached new entries are not stored (no churn).
"""

from __future__ import annotations

import hashlib

import torch


class FeatureCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._store: dict[bytes, torch.Tensor] = {}

    @staticmethod
    def key(t: torch.Tensor) -> bytes:
        return hashlib.blake2b(t.detach().cpu().contiguous().numpy().tobytes(), digest_size=16).digest()

    def __len__(self) -> int:
        return len(self._store)

    def lookup(self, keys: list[bytes], compute, device: torch.device) -> list[torch.Tensor]:
        """Values for ``keys``; ``compute(indices) -> tensor [len(indices), ...]`` fills the misses
        (each distinct missing key computed once, even when it repeats within the batch)."""
        first_index: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in self._store and k not in first_index:
                first_index[k] = i
        self.misses += len(first_index)
        self.hits += len(keys) - len(first_index)
        fresh: dict[bytes, torch.Tensor] = {}
        if first_index:
            values = compute(list(first_index.values())).detach()
            for k, value in zip(first_index, values, strict=True):
                fresh[k] = value
                size = value.numel() * value.element_size()
                if self.bytes + size <= self.max_bytes:
                    self._store[k] = value.to("cpu")
                    self.bytes += size
        return [fresh[k] if k in fresh else self._store[k].to(device) for k in keys]

    def __deepcopy__(self, memo) -> FeatureCache:
        # a copied model (an EMA shadow, a policy for evaluation) starts with its own empty cache
        # rather than duplicating or sharing this one's memory
        return FeatureCache(self.max_bytes)

    def clear(self) -> None:
        self._store.clear()
        self.bytes = self.hits = self.misses = 0
