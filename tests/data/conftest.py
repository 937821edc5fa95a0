"""Fixtures of the data tests (helpers live in data_fixtures.py)."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers.data_fixtures import write_tiny

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("tiny") / "ds")
