"""A one-screen summary of a dataset (``librobot data info``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from librobot.data.lerobot_v3 import LeRobotV3Reader


def dataset_summary(path: str | os.PathLike) -> dict[str, Any]:
    reader = LeRobotV3Reader(path)
    root = Path(path)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    lengths = [int(e["length"]) for e in reader.episodes]
    features = {
        k: {"dtype": v["dtype"], "shape": v["shape"]}
        for k, v in reader.features.items()
        if k not in ("timestamp", "frame_index", "episode_index", "index", "task_index")
    }
    per_task: dict[str, int] = {}
    for e in reader.episodes:
        for t in e.get("tasks") or []:
            per_task[t] = per_task.get(t, 0) + 1
    prov = reader.librobot
    return {
        "path": str(root),
        "codebase_version": reader.info.get("codebase_version"),
        "robot_type": reader.info.get("robot_type"),
        "env": prov.get("env"),
        "episodes": reader.num_episodes,
        "frames": reader.num_frames,
        "fps": reader.fps,
        "episode_length": {"min": min(lengths), "mean": sum(lengths) / len(lengths), "max": max(lengths)},
        "tasks": per_task,
        "cameras": reader.camera_keys,
        "features": features,
        "size_mb": round(size / 2**20, 3),
    }
