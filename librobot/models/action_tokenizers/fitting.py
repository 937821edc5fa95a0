"""Fit the action tokenizer of a head that reads action tokens, at the start of training.

The tokenizer sees what the head will be trained on: every chunk of the training split (no
augmentations), normalized with the run's normalizer. It is written to ``<output>/train/`` at once,
so ``--resume`` continues with the very tokenizer the checkpoints were trained against, and into the
bundle at the end (``librobot.bundle.save_bundle``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.dataset import ChunkedDataset
from librobot.logging import get_logger
from librobot.models.action_tokenizers.base import ActionTokenizer
from librobot.models.action_tokenizers.bundle_file import (
    ACTION_TOKENIZER_FILE,
    load_action_tokenizer,
    save_action_tokenizer,
    tokenizer_head,
)

log = get_logger("training")


def training_chunks(data_cfg: Any, normalizer: Any) -> np.ndarray:
    """Normalized action chunks ``[N, H, D]`` of the training split, as batches deliver them (no images read)."""
    data = ChunkedDataset.from_config(data_cfg, split="train", load_images=False, validate=False, transforms=[])
    if len(data) == 0:
        raise ValueError(f"{data_cfg.path}: the training split has no samples to fit the action tokenizer on")
    chunks = np.stack([data[i]["actions"].numpy() for i in range(len(data))])
    return np.asarray(normalizer.normalize_batch({"actions": chunks})["actions"], dtype=np.float64)


def prepare_action_tokenizer(
    model: Any, data_cfg: Any, normalizer: Any, work_dir: str | Path, resume: bool = False
) -> ActionTokenizer | None:
    """Fit (or, on resume, reload) the tokenizer of ``model``'s head and attach it; None for other heads."""
    head = tokenizer_head(model)
    if head is None:
        return None
    tokenizer = load_action_tokenizer(work_dir) if resume else None
    if tokenizer is not None:
        log.info("action tokenizer %s reloaded from %s", tokenizer.name, Path(work_dir) / ACTION_TOKENIZER_FILE)
    else:
        tokenizer = head.action_tokenizer.fit(training_chunks(data_cfg, normalizer))
        if os.environ.get("RANK", "0") == "0":  # every process fits the same (deterministic); one writes
            save_action_tokenizer(tokenizer, work_dir)
        stats = tokenizer.fit_stats
        log.info(
            "action tokenizer %s fitted on %d chunks: %d ids used, %.1f tokens per chunk on average (max %d) "
            "for %d values",
            tokenizer.name,
            stats["chunks"],
            stats["vocabulary_used"],
            stats["mean_tokens"],
            stats["max_tokens"],
            stats["codes_per_chunk"],
        )
    head.set_action_tokenizer(tokenizer)
    longest = int(tokenizer.fit_stats.get("max_tokens", 0))
    if longest > head.max_tokens:
        log.warning(
            "some training chunks need %d tokens; action_head.max_tokens=%d cuts them (their last coefficients "
            "decode as 0)",
            longest,
            head.max_tokens,
        )
    return tokenizer
