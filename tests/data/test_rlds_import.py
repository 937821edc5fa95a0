"""RLDS import: a dataset written by tensorflow-datasets' own builder (tests/fixtures/rlds, Open
X-Embodiment layout) becomes a LeRobot v3 dataset with exactly the values it held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from librobot.data.dataset import ChunkedDataset
from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.data.rlds_import import RldsImportError, default_selection, import_rlds, rlds_root, step_leaves
from tests.fixtures.rlds.rlds_values import ACTION_DIM, INSTRUCTIONS, LENGTHS, STATE_DIM, step_values

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rlds"
SRC = FIXTURE / "toy_oxe"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    return import_rlds(SRC, tmp_path_factory.mktemp("rlds") / "ds", fps=5)


def test_features_json_gives_the_step_leaves_and_oxe_defaults():
    leaves = step_leaves(rlds_root(SRC))
    assert leaves["observation/image"].kind == "image" and leaves["observation/image"].shape == (32, 32, 3)
    assert leaves["action"].shape == (ACTION_DIM,) and leaves["language_instruction"].kind == "text"
    chosen = default_selection(leaves)
    assert chosen.cameras == ("observation/image", "observation/wrist_image")
    assert chosen.state == ("observation/state",) and chosen.action == "action"
    assert chosen.instruction == "language_instruction"


def test_rlds_round_trips_exactly_into_lerobot_v3(imported):
    reader = LeRobotV3Reader(imported)
    assert reader.fps == 5 and reader.info["robot_type"] == "toy_oxe"
    assert list(reader.cameras) == ["image", "wrist_image"]
    assert reader.feature_names("observation.state") == [f"state_{i}" for i in range(STATE_DIM)]
    assert reader.feature_names("action") == [f"action_{i}" for i in range(ACTION_DIM)]
    assert reader.num_episodes == len(LENGTHS)
    seen = set()
    for episode in range(reader.num_episodes):
        data = reader.episode_data(episode)
        source = INSTRUCTIONS.index(reader.task_of(data["task_index"][0]))  # TFDS shuffles episode order
        seen.add(source)
        expected = step_values(source, LENGTHS[source])
        np.testing.assert_array_equal(data["observation.state"], expected["state"])  # float32 all the way
        np.testing.assert_array_equal(data["action"], expected["action"])
        frames = reader.decode_episode(episode, "image")  # PNG -> AV1/H.264: lossy, so compared on average
        assert frames.shape == expected["image"].shape
        assert np.abs(frames.astype(int) - expected["image"]).mean() < 6.0
    assert seen == set(range(len(LENGTHS)))
    assert reader.librobot["source"]["format"] == "rlds"


def test_choosing_keys_and_refusing_unknown_ones(tmp_path):
    out = import_rlds(SRC, tmp_path / "one_cam", cameras=["wrist_image"], state=["state"], fps=5)
    assert list(LeRobotV3Reader(out).cameras) == ["wrist_image"]
    with pytest.raises(RldsImportError, match=r"steps/observation/depth is not a feature.*observation/image"):
        import_rlds(SRC, tmp_path / "bad", cameras=["observation/depth"])
    with pytest.raises(FileNotFoundError, match="no TFRecord shards of split 'test'; splits present: \\['train'\\]"):
        import_rlds(SRC, tmp_path / "split", split="test")


def test_the_imported_dataset_trains_samples(imported):
    ds = ChunkedDataset(imported, action_horizon=4)
    sample = ds[0]
    assert sample["images"].shape == (2, 3, 32, 32) and sample["state"].shape == (1, STATE_DIM)
    assert sample["instruction"] in INSTRUCTIONS


def test_the_cli_imports(tmp_path):
    out = tmp_path / "cli"
    librobot = Path(sys.executable).parent / "librobot"
    done = subprocess.run(
        [str(librobot), "data", "import-rlds", str(SRC / "1.0.0"), "--out", str(out), "--max-episodes", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert LeRobotV3Reader(out).num_episodes == 1
