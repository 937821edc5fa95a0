"""The LeRobot v3 dataset as two flat tables that GX can check column by column.

Vector features (``observation.state``, ``action``) are split into one column per named dimension
(``observation.state.<name>``), and per-row facts the suite needs are derived here: the vector's
length, whether all its values are finite, the time step to the previous frame of the same
episode. The files are read directly (not through the training dataset) so validation does not
depend on the code it is protecting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

VECTOR_FEATURES = ("observation.state", "action")
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


@dataclass
class DatasetTables:
    info: dict[str, Any]
    frames: pd.DataFrame  # one row per frame, vectors split per dimension, derived columns added
    episodes: pd.DataFrame  # one row per episode: episode_index, length, frames_in_data
    vector_columns: dict[str, list[str]]  # feature -> its per-dimension column names


def read_info(root: Path) -> dict[str, Any]:
    path = root / "meta" / "info.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {root} is not a LeRobot v3 dataset")
    return json.loads(path.read_text())


def _read_parquets(directory: Path, what: str) -> pd.DataFrame:
    files = sorted(directory.glob("chunk-*/file-*.parquet"))
    if not files:
        raise FileNotFoundError(f"no {what} parquet files under {directory} (expected chunk-NNN/file-NNN.parquet)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def load_tables(
    root: str | Path, names: dict[str, list[str]], selections: Mapping[str, Any] | None = None
) -> DatasetTables:
    """Read frames and episodes; ``names`` maps each vector feature to the robot's dimension names.

    ``selections`` (feature -> ``FeatureSelection``): the dimensions the experiment uses, taken from
    each row before any check, so the robot's names line up with the policy's vector.
    """
    selections = selections or {}
    root = Path(root)
    info = read_info(root)
    raw = _read_parquets(root / "data", "frame")
    if "index" in raw.columns:
        raw = raw.sort_values("index", kind="stable").reset_index(drop=True)
    frames = pd.DataFrame({c: raw[c] for c in raw.columns if c not in VECTOR_FEATURES})
    vector_columns: dict[str, list[str]] = {}
    for feature in VECTOR_FEATURES:
        if feature not in raw.columns:
            continue
        values = [np.asarray(v) for v in raw[feature]]
        if feature in selections:  # rows too short to select from keep their width: the .dim check names them
            width = max(selections[feature].index, default=-1) + 1
            values = [selections[feature].take(v) if v.size >= width else v for v in values]
        dims = np.array([v.size for v in values], dtype=np.int64)
        frames[f"{feature}.dim"] = dims
        expected = names.get(feature) or [str(i) for i in range(int(dims.max(initial=0)))]
        columns = [f"{feature}.{n}" for n in expected]
        vector_columns[feature] = columns
        if len(values) and (dims == len(expected)).all():
            matrix = np.stack(values)
            frames[f"{feature}.finite"] = np.isfinite(matrix).all(axis=1)
            for i, column in enumerate(columns):
                frames[column] = matrix[:, i]
        else:  # wrong width somewhere: the .dim expectation reports it; finite is still checked per row
            frames[f"{feature}.finite"] = [bool(np.isfinite(v.astype(np.float64)).all()) for v in values]
    _add_steps(frames)
    episodes = _episodes(root, frames)
    return DatasetTables(info=info, frames=frames, episodes=episodes, vector_columns=vector_columns)


def _add_steps(frames: pd.DataFrame) -> None:
    """Time and frame-index step to the previous frame of the same episode (NaN on each first frame)."""
    if "episode_index" not in frames.columns:
        return
    by_episode = frames.groupby("episode_index", sort=False)
    if "timestamp" in frames.columns:
        frames["timestamp.step"] = by_episode["timestamp"].diff().astype(np.float64)
    if "frame_index" in frames.columns:
        frames["frame_index.step"] = by_episode["frame_index"].diff()


def _episodes(root: Path, frames: pd.DataFrame) -> pd.DataFrame:
    meta = _read_parquets(root / "meta" / "episodes", "episode metadata")
    keep = [c for c in ("episode_index", "length") if c in meta.columns]
    episodes = meta[keep].copy()
    if "episode_index" in frames.columns and "episode_index" in episodes.columns:
        counts = frames.groupby("episode_index").size()
        episodes["frames_in_data"] = episodes["episode_index"].map(counts).fillna(0).astype(np.int64)
    return episodes
