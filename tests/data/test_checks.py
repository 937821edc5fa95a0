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
