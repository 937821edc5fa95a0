"""Batches whose order is a pure function of (seed, epoch): what makes a killed run resumable exactly.

A run's data position is ``(epoch, batch)``. Resuming rebuilds the epoch's permutation from the
seed and skips ``batch`` index lists, so no sample is read twice or missed and no sampler state
needs saving. Under DDP each process takes its own slice of every global batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DataPosition:
    epoch: int = 0
    batch: int = 0  # global batches of ``epoch`` already consumed


class EpochBatches:
    """Shuffled, drop-last batches of ``range(num_samples)`` for one process of ``world_size``."""

    def __init__(self, num_samples: int, global_batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if global_batch_size % world_size:
            raise ValueError(
                f"training.batch_size ({global_batch_size}) must divide evenly over {world_size} processes"
            )
        if num_samples < global_batch_size:
            raise ValueError(
                f"the training split has {num_samples} samples, fewer than training.batch_size ({global_batch_size})"
            )
        self.num_samples = num_samples
        self.global_batch_size = global_batch_size
        self.local_batch_size = global_batch_size // world_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size

    @property
    def batches_per_epoch(self) -> int:
        return self.num_samples // self.global_batch_size

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)

    def epoch(self, epoch: int, start: int = 0) -> list[list[int]]:
        """This process's index lists for ``epoch``, from global batch ``start`` on."""
        perm = self.permutation(epoch)
        out = []
        for b in range(start, self.batches_per_epoch):
            chunk = perm[b * self.global_batch_size : (b + 1) * self.global_batch_size]
            lo = self.rank * self.local_batch_size
            out.append(chunk[lo : lo + self.local_batch_size].tolist())
        return out

    def positions(self, start: DataPosition) -> Iterator[DataPosition]:
        """Every position from ``start`` on, crossing epochs."""
        epoch, batch = start.epoch, start.batch
        while True:
            while batch < self.batches_per_epoch:
                yield DataPosition(epoch, batch)
                batch += 1
            epoch, batch = epoch + 1, 0
