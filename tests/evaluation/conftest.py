"""Fixtures of the evaluation tests: a tiny bundle trained on a tiny MetaWorld recording.

The set-up helpers are the training tests' (tests/training/tiny_run.py), so both suites share one
recorded dataset per session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "training"))

from tiny_run import record_tiny_dataset, tiny_config  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    return record_tiny_dataset(tmp_path_factory.getbasetemp() / "tiny_metaworld")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_dataset, tmp_path_factory):
    from librobot.training import train

    cfg = tiny_config(tiny_dataset, max_steps=2, val_every=0, checkpoint_every=0)
    return train(cfg, tmp_path_factory.mktemp("eval") / "bundle")
