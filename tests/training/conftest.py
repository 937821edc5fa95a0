"""Fixtures of the training tests: a tiny MetaWorld dataset recorded once per session."""

from __future__ import annotations

import pytest
from tiny_run import record_tiny_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    return record_tiny_dataset(tmp_path_factory.getbasetemp() / "tiny_metaworld")
