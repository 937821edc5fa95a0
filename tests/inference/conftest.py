import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tiny_bundle, shared with tests/serving

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def exported_bundle(tmp_path_factory):
    import torch
    from tiny_bundle import exported_bundle as build

    torch.set_num_threads(1)
    return build(tmp_path_factory)
