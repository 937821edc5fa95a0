"""Bad-input reports for a LeRobot v3 dataset: every problem names the file, episode and field.

Checked: missing meta / data / video files, feature shapes against info.json, NaN or inf, frame
counts per episode, timestamps that are not increasing or not spaced 1/fps, an fps that
disagrees with the expected one or with the videos, and every video frame of every episode: each
mp4 is decoded in full (about 1 s per 5,000 128x128 AV1 frames), and frames that do not decode are
reported by file, camera, episode and frame. Nothing is skipped silently: the caller gets
the whole list (``librobot data check`` prints it; the torch dataset refuses to load on any).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from librobot.data.lerobot_v3 import INDEX_FEATURES, _column_to_numpy, camera_name
from librobot.data.video import scan_video, video_info


@dataclass(frozen=True)
class DataProblem:
    file: str
    episode: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.episode is not None:
            where.append(f"episode {self.episode}")
        if self.field:
            where.append(self.field)
        return f"{': '.join([', '.join(where), self.message])}"


class DatasetError(ValueError):
    def __init__(self, problems: list[DataProblem]):
        self.problems = problems
        head = "\n  ".join(str(p) for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the dataset:\n  {head}{more}")


def check_dataset(root: str | os.PathLike, expected_fps: float | None = None, videos: bool = True) -> list[DataProblem]:
    root = Path(root)
    problems: list[DataProblem] = []
    info_path = root / "meta" / "info.json"
    if not info_path.is_file():
        return [DataProblem(str(info_path), None, None, "missing (not a LeRobot v3 dataset)")]
    info = json.loads(info_path.read_text())
    fps = float(info.get("fps", 0))
    if expected_fps is not None and abs(fps - expected_fps) > 1e-6:
        problems.append(DataProblem(str(info_path), None, "fps", f"is {fps}; expected {expected_fps}"))
    problems += _check_usable(info_path, info.get("features", {}))
    for required in ("meta/tasks.parquet",):
        if not (root / required).is_file():
            problems.append(DataProblem(str(root / required), None, None, "missing"))
    episode_files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not episode_files:
        problems.append(DataProblem(str(root / "meta" / "episodes"), None, None, "no episode files"))
        return problems
    episodes = []
    for f in episode_files:
        episodes += pq.read_table(f).to_pylist()
    features = info.get("features", {})
    cameras = [k for k, v in features.items() if v.get("dtype") == "video"]  # dtype image: frames in the parquet
    by_file: dict[tuple[int, int], list[dict]] = {}
    for e in episodes:
        by_file.setdefault((e["data/chunk_index"], e["data/file_index"]), []).append(e)
    for (chunk, file), eps in sorted(by_file.items()):
        path = root / info["data_path"].format(chunk_index=chunk, file_index=file)
        if not path.is_file():
            for e in eps:
                problems.append(DataProblem(str(path), e["episode_index"], None, "data file missing"))
            continue
        table = pq.read_table(path)
        cols = {n: _column_to_numpy(table.column(n)) for n in table.column_names}
        problems += _check_file(str(path), cols, eps, features, fps)
    if videos:
        problems += _check_videos(root, info, episodes, cameras, fps)
    return problems


def _check_file(path: str, cols: dict, eps: list[dict], features: dict, fps: float) -> list[DataProblem]:
    out: list[DataProblem] = []
    for name, spec in features.items():
        if spec.get("dtype") in ("video", "image"):
            continue
        if name not in cols:
            out.append(DataProblem(path, None, name, "column missing (declared in info.json)"))
            continue
        width = int(np.prod(spec["shape"]))
        got = cols[name].reshape(len(cols[name]), -1).shape[1] if len(cols[name]) else width
        if got != width:
            out.append(
                DataProblem(path, None, name, f"has {got} values per frame; info.json declares shape {spec['shape']}")
            )
    if "episode_index" not in cols or "index" not in cols:
        return out
    for e in eps:
        ep = int(e["episode_index"])
        rows = cols["episode_index"] == ep
        n = int(rows.sum())
        if n != int(e["length"]):
            out.append(DataProblem(path, ep, None, f"{n} frames in the file; meta/episodes says length {e['length']}"))
        if n == 0:
            continue
        for name, spec in features.items():
            if name in cols and str(spec.get("dtype", "")).startswith("float") and name not in INDEX_FEATURES:
                values = cols[name][rows]
                bad = ~np.isfinite(values.astype(np.float64))
                if bad.any():
                    frames = np.nonzero(bad.reshape(n, -1).any(1))[0]
                    out.append(DataProblem(path, ep, name, f"NaN or inf at frames {frames[:5].tolist()}"))
        if "timestamp" in cols:
            ts = cols["timestamp"][rows].astype(np.float64)
            steps = np.diff(ts)
            if (steps <= 0).any():
                at = int(np.nonzero(steps <= 0)[0][0]) + 1
                out.append(
                    DataProblem(path, ep, "timestamp", f"not increasing at frame {at} ({ts[at - 1]} -> {ts[at]})")
                )
            elif fps > 0 and len(steps) and np.abs(steps - 1.0 / fps).max() > 0.25 / fps:
                measured = 1.0 / float(np.median(steps))
                out.append(
                    DataProblem(path, ep, "timestamp", f"spacing gives {measured:.3f} fps; info.json says {fps}")
                )
    return out


def _check_videos(root: Path, info: dict, episodes: list[dict], cameras: list[str], fps: float) -> list[DataProblem]:
    out: list[DataProblem] = []
    seen: dict[str, dict | None] = {}
    scans: dict[str, Any] = {}
    for e in episodes:
        for key in cameras:
            if f"videos/{key}/chunk_index" not in e:
                out.append(DataProblem(str(root / "meta" / "episodes"), e["episode_index"], key, "no video location"))
                continue
            path = root / info["video_path"].format(
                video_key=key, chunk_index=e[f"videos/{key}/chunk_index"], file_index=e[f"videos/{key}/file_index"]
            )
            if str(path) not in seen:
                scans[str(path)] = _scan(str(path), *_stamp(path), fps or 1.0) if path.is_file() else None
                scan = scans[str(path)]
                if scan is not None and scan.fatal:
                    out.append(DataProblem(str(path), None, key, scan.fatal))
                seen[str(path)] = video_info(path) if scan is not None and not scan.fatal else None
                if scan is not None and None in scan.errors:
                    out.append(
                        DataProblem(
                            str(path), None, key, f"a packet without timestamp does not decode: {scan.errors[None]}"
                        )
                    )
                vi = seen[str(path)]
                if vi and vi["fps"] and fps and abs(vi["fps"] - fps) > 0.01 * fps:
                    out.append(DataProblem(str(path), None, key, f"video is {vi['fps']:.3f} fps; info.json says {fps}"))
            if scans[str(path)] is None:
                out.append(DataProblem(str(path), e["episode_index"], key, "video file missing"))
                continue
            undecoded = _undecoded_frames(scans[str(path)], e, key, fps)
            if undecoded:
                out.append(DataProblem(str(path), e["episode_index"], key, undecoded))
            span = float(e[f"videos/{key}/to_timestamp"]) - float(e[f"videos/{key}/from_timestamp"])
            if fps and abs(span * fps - int(e["length"])) > 0.5:
                out.append(
                    DataProblem(
                        str(path),
                        e["episode_index"],
                        key,
                        f"video span {span:.4f} s holds {span * fps:.1f} frames; episode length {e['length']}",
                    )
                )
    return out


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _scan(path: str, size: int, mtime_ns: int, fps: float) -> Any:
    """A full decode per file version: the train and val datasets of one run check the same videos."""
    return scan_video(path, fps)


def _undecoded_frames(scan: Any, episode: dict, key: str, fps: float) -> str | None:
    """Which frames of ``episode`` in a scanned video did not decode, and the first decoder error among them."""
    if not fps:
        return None
    first = int(round(float(episode[f"videos/{key}/from_timestamp"]) * fps))
    length = int(episode["length"])
    bad = [i for i in range(length) if first + i not in scan.decoded]
    if not bad:
        return None
    errors = sorted((n - first, msg) for n, msg in scan.errors.items() if n is not None and first <= n < first + length)
    cause = f"; first decoder error at frame {errors[0][0]}: {errors[0][1]}" if errors else ""
    if scan.fatal and not errors:
        cause = f"; {scan.fatal}"
    return (
        f"{len(bad)} of {length} frames are missing or do not decode: frames {_ranges(bad)} of the episode "
        f"(file frames from {first}){cause}"
    )


def _ranges(frames: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9' (at most 5 stretches)."""
    spans: list[list[int]] = []
    for f in frames:
        if spans and f == spans[-1][1] + 1:
            spans[-1][1] = f
        else:
            spans.append([f, f])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans[:5])
    return text + (f" and {len(spans) - 5} more stretches" if len(spans) > 5 else "")


def _check_usable(info_path: Path, features: dict[str, Any]) -> list[DataProblem]:
    """What training would refuse although every file is sound: vectors it needs, cameras it cannot read."""
    out = []
    for key in ("observation.state", "action"):
        spec = features.get(key)
        if spec is None:
            others = sorted(k for k in features if k not in INDEX_FEATURES)
            out.append(DataProblem(str(info_path), None, key, f"missing: training reads it (the dataset has {others})"))
        elif not str(spec.get("dtype", "")).startswith("float"):
            out.append(DataProblem(str(info_path), None, key, f"has dtype {spec.get('dtype')}; expected float32/64"))
    seen: dict[str, str] = {}
    for key, spec in features.items():
        if spec.get("dtype") not in ("video", "image"):
            continue
        shape = list(spec.get("shape") or [])
        if len(shape) != 3 or 3 not in (shape[0], shape[-1]):
            out.append(DataProblem(str(info_path), None, key, f"camera shape {shape} is not an RGB image [H, W, 3]"))
        name = camera_name(key)
        if name in seen:
            out.append(DataProblem(str(info_path), None, key, f"camera short name {name!r} is also {seen[name]!r}'s"))
        seen[name] = key
    return out
