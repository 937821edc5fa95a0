"""Session fixtures more than one test directory uses (registered by ``pytest_plugins`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.helpers.tiny_run import record_tiny_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A tiny MetaWorld recording (two tasks, 32 px), recorded once per session."""
    return record_tiny_dataset(tmp_path_factory.getbasetemp() / "tiny_metaworld")


@pytest.fixture(scope="session")
def exported_bundle(tmp_path_factory):
    """The tiny so100 bundle (no simulator) exported to fp32 and int8 ONNX, built once per session."""
    import torch

    from tests.helpers.tiny_bundle import exported_bundle as build

    torch.set_num_threads(1)
    return build(tmp_path_factory)


@pytest.fixture(scope="session")
def single_graph_bundle(tmp_path_factory):
    """The tiny so100 bundle exported to one fp32 graph that takes token ids (an old bundle's layout)."""
    import torch

    from tests.helpers.tiny_bundle import exported_single_graph_bundle

    torch.set_num_threads(1)
    return exported_single_graph_bundle(tmp_path_factory)
