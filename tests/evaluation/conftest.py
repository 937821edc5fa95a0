"""Fixtures of the evaluation tests: a tiny bundle trained on a tiny MetaWorld recording.

The recording is the shared ``tiny_dataset`` fixture (tests/helpers/fixtures.py): the training and
evaluation tests use one recorded dataset per session.
"""

from __future__ import annotations

import pytest

from tests.helpers.tiny_run import tiny_config


@pytest.fixture(scope="session")
def tiny_bundle(tiny_dataset, tmp_path_factory):
    from librobot.training.run import train

    cfg = tiny_config(tiny_dataset, max_steps=2, val_every=0, checkpoint_every=0)
    return train(cfg, tmp_path_factory.mktemp("eval") / "bundle")
