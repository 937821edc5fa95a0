"""Contract: the GPU input-pipeline settings change how batches are loaded, never which batches."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from librobot.data.dataset import ChunkedDataset, collate
from librobot.training.sampler import DataPosition
from librobot.training.trainer import Trainer
from tests.helpers.tiny_run import tiny_config


def _batches(cfg, dataset, tmp_path, start: DataPosition, n: int, num_workers: int, **training):
    model = torch.nn.Linear(2, 2)  # the loader needs a prepared Trainer, not a policy
    settings = {**training, "tracking": False, "progress": False}
    trainer = Trainer(model, dataset, dataclasses.replace(cfg.training, **settings), tmp_path, seed=3, collate_fn=collate,
                      num_workers=num_workers)  # fmt: skip
    trainer._setup()
    stream = trainer._batches(start)
    return [next(stream) for _ in range(n)]


def test_worker_processes_give_the_same_batches_as_the_main_process(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset, batch_size=8)
    dataset = ChunkedDataset.from_config(cfg.data, split="train")
    per_epoch = len(dataset) // 8
    start = DataPosition(0, per_epoch - 2)  # mid-epoch (a resume), then across the epoch boundary
    n = 4
    reference = _batches(cfg, dataset, tmp_path / "a", start, n, num_workers=0)
    variants = {
        "2 workers": _batches(cfg, dataset, tmp_path / "b", start, n, num_workers=2),
        "2 persistent workers, pinned, prefetch 4": _batches(
            cfg, dataset, tmp_path / "c", start, n, num_workers=2,
            persistent_workers=True, pin_memory=True, non_blocking=True, prefetch_factor=4,
        ),
    }  # fmt: skip
    assert [p for p, _ in reference] == [DataPosition(0, per_epoch - 1), DataPosition(0, per_epoch),
                                         DataPosition(1, 1), DataPosition(1, 2)]  # fmt: skip
    for name, batches in variants.items():
        assert [p for p, _ in batches] == [p for p, _ in reference], name
        for (_, got), (_, want) in zip(batches, reference, strict=True):
            assert got.keys() == want.keys(), name
            for key, value in want.items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(got[key], value), f"{name}: {key} differs"
                else:
                    assert got[key] == value, f"{name}: {key} differs"


def test_bad_prefetch_factor_is_refused_with_its_field(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset)
    with pytest.raises(ValueError, match="training.prefetch_factor"):
        Trainer(torch.nn.Linear(2, 2), [], dataclasses.replace(cfg.training, prefetch_factor=0), tmp_path)
