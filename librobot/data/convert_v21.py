"""Convert a LeRobot v2.1 dataset (one parquet and one mp4 per episode) into the v3 layout.

Nothing is decoded or re-encoded: v3 allows one file per episode, so every episode's parquet and mp4
is copied under its v3 name (``data/chunk-C/file-F.parquet``, ``videos/<key>/chunk-C/file-F.mp4``)
and only the metadata is rewritten: ``meta/episodes/`` (with each episode's file and row range),
``meta/tasks.parquet``, ``meta/info.json`` and ``meta/stats.json`` (v2.1 kept stats per episode;
v3 keeps them global, so they are computed over all frames). Frames and values stay bit-identical.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from librobot.data.lerobot_v3 import (
    CODEBASE_VERSION,
    DATA_PATH,
    DEFAULT_DATA_FILE_MB,
    DEFAULT_VIDEO_FILE_MB,
    EPISODES_PATH,
    VIDEO_PATH,
    LeRobotV3Reader,
)
from librobot.data.stats import stats_to_json


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (every v2.1 dataset lists it)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def convert_v21(src: str | os.PathLike, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the v3 version of the v2.1 dataset at ``src`` to ``out``; returns ``out``."""
    import pandas as pd

    src, out = Path(src), Path(out)
    info = json.loads((src / "meta" / "info.json").read_text())
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v2"):
        raise ValueError(f"{src / 'meta' / 'info.json'}: codebase_version is {version!r}; this converts v2.x")
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
        shutil.rmtree(out)
    episodes = sorted(_jsonl(src / "meta" / "episodes.jsonl"), key=lambda e: e["episode_index"])
    tasks = sorted(_jsonl(src / "meta" / "tasks.jsonl"), key=lambda t: t["task_index"])
    videos = [k for k, v in info["features"].items() if v.get("dtype") == "video"]
    fps, chunks_size = float(info["fps"]), int(info.get("chunks_size", 1000))

    rows = []
    for e in episodes:
        ep = int(e["episode_index"])
        chunk, file = divmod(ep, chunks_size)
        data_src = src / info["data_path"].format(episode_chunk=chunk, episode_index=ep)
        if not data_src.is_file():
            raise FileNotFoundError(f"{data_src}: data of episode {ep} is missing")
        index = pq.read_table(data_src, columns=["index"]).column("index").to_numpy()
        if len(index) != int(e["length"]):
            raise ValueError(f"{data_src}: {len(index)} frames; meta/episodes.jsonl says {e['length']}")
        _copy(data_src, out / DATA_PATH.format(chunk_index=chunk, file_index=file))
        row = {
            "episode_index": ep,
            "tasks": list(e["tasks"]),
            "length": int(e["length"]),
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": int(index.min()),
            "dataset_to_index": int(index.max()) + 1,
        }
        for key in videos:
            video_src = src / info["video_path"].format(episode_chunk=chunk, video_key=key, episode_index=ep)
            if not video_src.is_file():
                raise FileNotFoundError(f"{video_src}: video of episode {ep}, {key}, is missing")
            _copy(video_src, out / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file))
            row.update(
                {
                    f"videos/{key}/chunk_index": chunk,
                    f"videos/{key}/file_index": file,
                    f"videos/{key}/from_timestamp": 0.0,
                    f"videos/{key}/to_timestamp": int(e["length"]) / fps,
                }
            )
        rows.append(row)

    meta = out / "meta"
    (out / EPISODES_PATH.format(chunk_index=0, file_index=0)).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out / EPISODES_PATH.format(chunk_index=0, file_index=0))
    texts = [t["task"] for t in tasks]
    frame = pd.DataFrame({"task_index": [t["task_index"] for t in tasks]}, index=pd.Index(texts, name="task"))
    frame.to_parquet(meta / "tasks.parquet")
    v3 = {k: v for k, v in info.items() if k not in ("total_chunks", "total_videos")}
    v3.update(
        codebase_version=CODEBASE_VERSION,
        data_path=DATA_PATH,
        video_path=VIDEO_PATH if videos else None,
        data_files_size_in_mb=DEFAULT_DATA_FILE_MB,
        video_files_size_in_mb=DEFAULT_VIDEO_FILE_MB,
    )
    (meta / "info.json").write_text(json.dumps(v3, indent=2))
    stats = LeRobotV3Reader(out).stats  # global, computed from the frames (no stats.json yet)
    (meta / "stats.json").write_text(json.dumps(stats_to_json(stats), indent=2))
    return out


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
