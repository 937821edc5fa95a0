"""Datasets written by LeRobot's own writer (tests/fixtures/lerobot_written, made by make_fixtures.py).

They load with the values LeRobot was given; the v2.1 one converts to v3. (One trains with
``robot=dataset`` and is served over HTTP: tests/serving/test_lerobot_dataset_served.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from librobot.data.dataset import ChunkedDataset
from librobot.data.lerobot_v3 import LeRobotV3Reader, camera_name
from tests.fixtures.lerobot_written.lerobot_values import LENGTHS, MOTORS, TASKS, VARIANTS, frames, vectors

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lerobot_written"

# AV1 at LeRobot's default quality on 32 px gradients: a few grey levels on average
VIDEO_MEAN_ABS_ERROR = 6.0


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lerobot_written_datasets_load_with_the_values_lerobot_was_given(variant):
    root = FIXTURES / variant
    reader = LeRobotV3Reader(root)
    cameras, names, videos = VARIANTS[variant]
    assert reader.camera_keys == cameras
    assert list(reader.cameras) == [camera_name(c) for c in cameras]
    expected_names = MOTORS if names else [f"observation.state.{i}" for i in range(len(MOTORS))]
    assert reader.feature_names("observation.state") == expected_names
    assert reader.num_episodes == len(LENGTHS)
    for episode, length in enumerate(LENGTHS):
        data = reader.episode_data(episode)
        state, action = vectors(episode, length)
        np.testing.assert_array_equal(data["observation.state"], state)  # float32 stored as given
        np.testing.assert_array_equal(data["action"], action)
        assert reader.task_of(data["task_index"][0]) == TASKS[episode % len(TASKS)]
        for c, key in enumerate(cameras):
            decoded = reader.decode_episode(episode, key)
            given = frames(episode, c, length)
            assert decoded.shape == given.shape
            if videos:
                assert np.abs(decoded.astype(int) - given).mean() < VIDEO_MEAN_ABS_ERROR
            else:
                np.testing.assert_array_equal(decoded, given)  # PNG in the parquet: lossless
    ds = ChunkedDataset(root, action_horizon=3)
    assert ds[0]["images"].shape == (len(cameras), 3, 32, 32)


def test_a_lerobot_v21_dataset_converts_to_v3_with_identical_values(tmp_path):
    from librobot.data.checks import check_dataset
    from librobot.data.convert_v21 import convert_v21

    src = FIXTURES / "v21_two_cameras"
    with pytest.raises(ValueError, match="codebase_version is 'v2.1'"):
        LeRobotV3Reader(src)
    out = tmp_path / "v3"
    librobot = Path(sys.executable).parent / "librobot"
    done = subprocess.run(
        [str(librobot), "data", "convert-v21", str(src), "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert check_dataset(out) == []
    converted, written_by_v3 = LeRobotV3Reader(out), LeRobotV3Reader(FIXTURES / "two_cameras")
    assert converted.cameras == written_by_v3.cameras
    assert converted.feature_names("action") == MOTORS
    for episode, length in enumerate(LENGTHS):
        state, action = vectors(episode, length)
        np.testing.assert_array_equal(converted.episode_data(episode)["observation.state"], state)
        np.testing.assert_array_equal(converted.episode_data(episode)["action"], action)
        for c, cam in enumerate(converted.cameras):
            # the v2.1 mp4 copied byte for byte: its frames decode as they did, close to the source frames
            decoded = converted.decode_episode(episode, cam)
            assert np.abs(decoded.astype(int) - frames(episode, c, length)).mean() < VIDEO_MEAN_ABS_ERROR
    for key in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(converted.stats["action"][key], written_by_v3.stats["action"][key], rtol=1e-5)
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert_v21(src, out)
