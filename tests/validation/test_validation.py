"""The GX suite passes a clean LeRobot v3 dataset and names what is wrong with a corrupted one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from librobot.validation import DatasetValidationError, ValidationSettings, check_dataset, validate_dataset


def _data_file(root):
    return next((root / "data").glob("chunk-*/file-*.parquet"))


def _rewrite(root, edit):
    path = _data_file(root)
    frame = pd.read_parquet(path)
    edit(frame)
    frame.to_parquet(path)


def _set_vector(frame, column, row, dim, value):
    values = [np.array(v, dtype=np.float32) for v in frame[column]]
    values[row][dim] = value
    frame[column] = values


def test_clean_dataset_passes_every_expectation(tiny_dataset, tiny_robot, tmp_path):
    report = check_dataset(tiny_dataset, tiny_robot)
    assert report.success and report.failures == []
    assert report.evaluated >= 20  # schema, dtypes, finiteness, bounds per dimension, time, episodes
    saved = report.save(tmp_path / "out")
    result = json.loads((saved / "gx_result.json").read_text())
    assert result["success"] is True
    assert result["gx_results"]["frames"]["success"] is True
    assert result["gx_results"]["episodes"]["statistics"]["evaluated_expectations"] > 0


def test_nan_and_out_of_bounds_values_are_named(tiny_dataset, tiny_robot):
    def corrupt(frame):
        _set_vector(frame, "observation.state", 3, 1, np.nan)
        _set_vector(frame, "action", 5, 0, 7.5)  # action bounds are [-2, 2]

    _rewrite(tiny_dataset, corrupt)
    with pytest.raises(DatasetValidationError) as caught:
        check_dataset(tiny_dataset, tiny_robot)
    report = caught.value.report
    failed = {(f.column, f.expectation) for f in report.failures}
    assert ("observation.state.finite", "expect_column_values_to_be_in_set") in failed
    assert ("action.cmd0", "expect_column_values_to_be_between") in failed
    bounds = next(f for f in report.failures if f.column == "action.cmd0")
    assert bounds.unexpected_count == 1 and bounds.examples == [7.5]
    text = str(caught.value)
    assert "action.cmd0 lies within the robot's bounds [-2, 2]" in text
    assert "observation.state holds no NaN or inf" in text


def test_values_inside_the_tolerance_pass(tiny_dataset, tiny_robot):
    _rewrite(tiny_dataset, lambda frame: _set_vector(frame, "action", 0, 1, 2.1))  # 2.5% of the range above
    assert validate_dataset(tiny_dataset, tiny_robot, ValidationSettings(bounds_tolerance=0.05)).success
    assert not validate_dataset(tiny_dataset, tiny_robot, ValidationSettings(bounds_tolerance=0.0)).success


def test_non_monotonic_timestamps_and_wrong_fps_fail(tiny_dataset, tiny_robot):
    def corrupt(frame):
        episode0 = frame.index[frame["episode_index"] == 0]
        frame.loc[episode0[4], "timestamp"] = np.float32(0.05)  # goes back in time
        episode1 = frame.index[frame["episode_index"] == 1]
        frame.loc[episode1, "timestamp"] = (np.arange(len(episode1)) / 30.0).astype(np.float32)  # 30 fps, not 10

    _rewrite(tiny_dataset, corrupt)
    report = validate_dataset(tiny_dataset, tiny_robot)
    whys = [f.why for f in report.failures if f.column == "timestamp.step"]
    assert "timestamps increase strictly within each episode" in whys
    assert any("1/fps" in why for why in whys)


def test_wrong_dtype_and_width_fail(tiny_dataset, tiny_robot):
    def corrupt(frame):
        frame["timestamp"] = frame["timestamp"].astype(np.float64)
        frame["action"] = [np.array(v, dtype=np.float32)[:1] for v in frame["action"]]

    _rewrite(tiny_dataset, corrupt)
    report = validate_dataset(tiny_dataset, tiny_robot)
    failed = {(f.column, f.expectation) for f in report.failures}
    assert ("timestamp", "expect_column_values_to_be_of_type") in failed
    assert ("action.dim", "expect_column_values_to_be_between") in failed


def test_episode_lengths_and_counts_are_checked(tiny_dataset, tiny_robot):
    _rewrite(tiny_dataset, lambda frame: frame.drop(frame.index[-2:], inplace=True))  # last episode loses 2 frames
    settings = ValidationSettings(min_episode_length=13)  # episodes are 12 frames long
    report = validate_dataset(tiny_dataset, tiny_robot, settings)
    episode_failures = {f.expectation for f in report.failures if f.table == "episodes"}
    assert episode_failures == {"expect_column_values_to_be_between", "expect_column_pair_values_to_be_equal"}
    assert any(f.expectation == "expect_table_row_count_to_equal" and f.table == "frames" for f in report.failures)
