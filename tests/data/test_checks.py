"""Bad input is reported with file, episode and field; the dataset refuses to load it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from librobot.data.checks import DatasetError, check_dataset

DATA = "data/chunk-000/file-000.parquet"


@pytest.fixture
def copy(tiny_dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    return root


def _rewrite(root, column, fn):
    path = root / DATA
    table = pq.read_table(path)
    idx = table.column_names.index(column)
    pq.write_table(table.set_column(idx, column, fn(table.column(column))), path)


def test_clean_dataset_has_no_problems(tiny_dataset):
    assert check_dataset(tiny_dataset) == []


def test_missing_video_file_is_named(copy):
    video = next((copy / "videos").rglob("*.mp4"))
    video.unlink()
    problems = check_dataset(copy)
    assert problems and all(str(video) == p.file for p in problems)
    assert {p.episode for p in problems} == {0, 1, 2}
    with pytest.raises(DatasetError, match="video file missing"):
        from librobot.data.dataset import ChunkedDataset

        ChunkedDataset(copy)


def test_nan_is_reported_with_episode_and_field(copy):
    def poison(col):
        values = col.combine_chunks().flatten().to_numpy().copy()
        values[3 * 7 + 1] = np.nan  # frame 7 = episode 1, frame 1
        return pa.FixedSizeListArray.from_arrays(pa.array(values), 3)

    _rewrite(copy, "observation.state", poison)
    (p,) = check_dataset(copy)
    assert p.episode == 1 and p.field == "observation.state" and "NaN or inf at frames [1]" in p.message
    assert p.file.endswith(DATA)


def test_non_monotonic_timestamps_and_fps_mismatch(copy):
    def swap(col):
        ts = col.to_numpy().copy()
        ts[1], ts[2] = ts[2], ts[1]
        return pa.array(ts)

    _rewrite(copy, "timestamp", swap)
    problems = check_dataset(copy, expected_fps=30)
    text = [str(p) for p in problems]
    assert any("episode 0, timestamp: not increasing at frame 2" in t for t in text), text
    assert any("fps: is 10.0; expected 30" in t for t in text), text


def test_wrong_feature_shape_is_reported(copy):
    info_path = copy / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    info["features"]["action"]["shape"] = [3]
    info_path.write_text(json.dumps(info))
    problems = check_dataset(copy)
    assert any(p.field == "action" and "has 2 values per frame" in p.message for p in problems)


def test_timestamps_at_another_rate_are_an_fps_mismatch(copy):
    _rewrite(copy, "timestamp", lambda col: pc.multiply(col, pa.scalar(2.0, pa.float32())))
    problems = check_dataset(copy)
    assert problems and all(p.field == "timestamp" and "5.000 fps" in p.message for p in problems)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A dataset whose mp4 has 64 KB of garbage in its middle (the container index stays intact)."""
    from tests.helpers.data_fixtures import write_noisy

    root = write_noisy(tmp_path_factory.mktemp("damaged") / "ds")
    video = next((root / "videos").rglob("*.mp4"))
    size = video.stat().st_size
    with open(video, "r+b") as f:
        f.seek(size // 2 - 32 * 1024)
        f.write(np.random.default_rng(1).integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes())
    return root, video


def test_garbage_inside_an_mp4_is_reported_with_file_episode_and_frames(damaged):
    root, video = damaged
    problems = check_dataset(root)
    assert problems, "64 KB of garbage went unnoticed"
    assert all(p.file == str(video) and p.field == "observation.images.front" for p in problems)
    (p,) = [p for p in problems if p.episode == 1]  # the middle episode holds the middle of the file
    assert "frames are missing or do not decode: frames " in p.message and "of the episode" in p.message
    assert 0 not in {q.episode for q in problems}  # the damage is located, not smeared over the file


def test_cli_check_names_the_damaged_file(damaged, capsys):
    from librobot.cli import main

    root, video = damaged
    assert main(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{video}, episode 1, observation.images.front:" in out


def test_training_time_decode_error_names_file_camera_episode_and_frame(damaged):
    from librobot.data.lerobot_v3 import LeRobotV3Reader
    from librobot.data.video import VideoDecodeError

    root, video = damaged
    reader = LeRobotV3Reader(root)
    assert reader.decode_episode(0, "front").shape == (40, 64, 64, 3)  # undamaged episodes still read
    with pytest.raises(VideoDecodeError, match=rf"{video}, camera observation.images.front, episode 1: .*frame"):
        reader.decode_episode(1, "front")
