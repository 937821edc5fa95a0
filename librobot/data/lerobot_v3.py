"""LeRobot dataset v3.0 on disk: layout constants, ``LeRobotV3Writer`` and ``LeRobotV3Reader``.

Layout (what LeRobot 0.4 writes, so datasets pass both ways)::

    meta/info.json                       codebase_version "v3.0", fps, features, counts, path templates
    meta/stats.json                      global per-feature stats (librobot.data.stats)
    meta/tasks.parquet                   index: task string, column task_index
    meta/episodes/chunk-000/file-000.parquet   one row per episode: length, tasks, data file and
                                         dataset_from/to_index, per camera video file + from/to timestamp
    data/chunk-NNN/file-NNN.parquet      frames of several episodes per file
    videos/observation.images.<cam>/chunk-NNN/file-NNN.mp4   several episodes per file
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from librobot.data.stats import ImageStats, RunningStats, compute_stats, stats_from_json, stats_to_json
from librobot.data.video import CODEC_LABEL, VideoDecoder, VideoEncoder, check_pix_fmt, pick_codec

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DEFAULT_CHUNKS_SIZE = 1000
DEFAULT_DATA_FILE_MB = 100.0
DEFAULT_VIDEO_FILE_MB = 500.0
IMAGE_PREFIX = "observation.images."
INDEX_FEATURES = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


def camera_key(cam: str) -> str:
    """The feature key LibroBot writes a camera under: ``observation.images.<cam>``."""
    return cam if cam.startswith(IMAGE_PREFIX) else IMAGE_PREFIX + cam


def camera_name(key: str) -> str:
    """The short name of a camera feature: ``observation.images.top`` -> ``top``, ``observation.image`` -> ``image``.

    LeRobot's single-camera datasets (PushT, MetaWorld) name their camera ``observation.image``;
    multi-camera ones ``observation.images.<cam>``; any feature of dtype video or image is a camera.
    """
    for prefix in (IMAGE_PREFIX, "observation."):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


# -- writer ------------------------------------------------------------------------------------
class _FileCursor:
    """chunk/file index of the file being filled, rolled over by size like LeRobot does."""

    def __init__(self, chunks_size: int):
        self.chunk, self.file, self.chunks_size = 0, 0, chunks_size

    def advance(self) -> None:
        self.file += 1
        if self.file >= self.chunks_size:
            self.chunk, self.file = self.chunk + 1, 0


class LeRobotV3Writer:
    """Write episodes to a new LeRobot v3 dataset; stats stream as episodes arrive.

    ``features``: non-image features, ``{"observation.state": {"dtype": "float32", "shape": [D],
    "names": [...]}, "action": {...}}``; ``cameras``: ``{name: (height, width)}``.
    ``librobot``: provenance stored in info.json (env name and kwargs, robot spec) so evaluation can
    rebuild the simulator that recorded the data.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        fps: float,
        features: Mapping[str, Mapping[str, Any]],
        cameras: Mapping[str, tuple[int, int]] | None = None,
        robot_type: str | None = None,
        librobot: Mapping[str, Any] | None = None,
        codec: str = "auto",
        crf: int = 30,
        gop: int = 12,
        pix_fmt: str = "yuv420p",
        chunks_size: int = DEFAULT_CHUNKS_SIZE,
        data_files_size_in_mb: float = DEFAULT_DATA_FILE_MB,
        video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_MB,
        overwrite: bool = False,
    ):

        self.root = Path(root)
        self.cameras = {camera_key(c): tuple(hw) for c, hw in (cameras or {}).items()}
        self.codec = pick_codec(codec) if self.cameras else None
        if self.codec is not None:
            check_pix_fmt(self.codec, pix_fmt)  # before anything is written
        if (self.root / "meta" / "info.json").exists() and not overwrite:
            raise FileExistsError(f"{self.root} already holds a dataset; pass overwrite=True to replace it")
        if overwrite and self.root.exists():
            import shutil

            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.features = {k: _check_feature(k, v) for k, v in features.items()}
        self.robot_type = robot_type
        self.librobot = dict(librobot or {})
        self.codec_label = CODEC_LABEL.get(self.codec or "", self.codec)
        self.crf, self.gop, self.pix_fmt = crf, gop, pix_fmt
        self.chunks_size = chunks_size
        self.data_mb, self.video_mb = data_files_size_in_mb, video_files_size_in_mb
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict[str, Any]] = []
        self.total_frames = 0
        self._stats = {k: RunningStats() for k, v in self.features.items() if v["dtype"].startswith("float")}
        self._image_stats = {k: ImageStats() for k in self.cameras}
        self._data_cursor = _FileCursor(chunks_size)
        self._data_writer: pq.ParquetWriter | None = None
        self._data_bytes = 0
        self._video: dict[str, Any] = {}
        self._video_cursor = {k: _FileCursor(chunks_size) for k in self.cameras}
        self._closed = False

    def __enter__(self) -> LeRobotV3Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finalize()
        else:
            self._close_files()

    def add_episode(
        self,
        task: str,
        data: Mapping[str, np.ndarray],
        images: Mapping[str, np.ndarray] | None = None,
        episode_meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one episode: ``data[feature]`` is ``[T, *shape]``, ``images[cam]`` uint8 ``[T, H, W, 3]``.

        ``episode_meta``: extra scalar columns for this episode's row in meta/episodes (e.g. its seed).
        """
        ep = len(self.episodes)
        length = self._check_episode(ep, data, images or {})
        task_index = self.tasks.setdefault(task, len(self.tasks))
        frame_index = np.arange(length, dtype=np.int64)
        columns: dict[str, pa.Array] = {}
        for name, spec in self.features.items():
            values = np.asarray(data[name], dtype=spec["dtype"]).reshape(length, *spec["shape"])
            columns[name] = _to_arrow(values, spec)
        columns["timestamp"] = pa.array((frame_index / self.fps).astype(np.float32))
        columns["frame_index"] = pa.array(frame_index)
        columns["episode_index"] = pa.array(np.full(length, ep, dtype=np.int64))
        columns["index"] = pa.array(self.total_frames + frame_index)
        columns["task_index"] = pa.array(np.full(length, task_index, dtype=np.int64))
        table = pa.table(columns)
        row: dict[str, Any] = {"episode_index": ep, "tasks": [task], "length": length}
        row.update(self._write_data(table))
        row["dataset_from_index"] = self.total_frames
        row["dataset_to_index"] = self.total_frames + length
        for key, frames in (images or {}).items():
            row.update(self._write_video(camera_key(key), np.asarray(frames)))
            self._image_stats[camera_key(key)].update(np.asarray(frames))
        for name, acc in self._stats.items():
            values = np.asarray(data[name], dtype=np.float64).reshape(length, -1)
            acc.update(values)
            for stat, fn in (("min", np.min), ("max", np.max), ("mean", np.mean), ("std", np.std)):
                row[f"stats/{name}/{stat}"] = fn(values, axis=0).tolist()
            row[f"stats/{name}/count"] = [length]
        row.update(episode_meta or {})
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        self.episodes.append(row)
        self.total_frames += length
        return ep

    def _check_episode(self, ep: int, data: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray]) -> int:
        missing = [k for k in self.features if k not in data]
        if missing:
            raise ValueError(f"episode {ep}: missing features {missing}; the dataset declares {list(self.features)}")
        lengths = {k: len(data[k]) for k in self.features}
        length = next(iter(lengths.values()))
        if any(n != length for n in lengths.values()) or length == 0:
            raise ValueError(f"episode {ep}: features have different or zero lengths: {lengths}")
        for name, spec in self.features.items():
            shape = tuple(np.shape(data[name])[1:]) or (1,)
            if int(np.prod(shape)) != int(np.prod(spec["shape"])):
                raise ValueError(f"episode {ep}: {name} has shape {list(shape)} per frame; expected {spec['shape']}")
            if spec["dtype"].startswith("float") and not np.all(np.isfinite(data[name])):
                raise ValueError(f"episode {ep}: {name} contains NaN or inf")
        if set(map(camera_key, images)) != set(self.cameras):
            raise ValueError(f"episode {ep}: cameras {sorted(images)}; the dataset declares {sorted(self.cameras)}")
        for cam, frames in images.items():
            h, w = self.cameras[camera_key(cam)]
            if np.shape(frames) != (length, h, w, 3) or np.asarray(frames).dtype != np.uint8:
                raise ValueError(
                    f"episode {ep}: camera {cam} frames are {np.asarray(frames).dtype} {list(np.shape(frames))}; "
                    f"expected uint8 {[length, h, w, 3]}"
                )
        return length

    def _write_data(self, table: pa.Table) -> dict[str, int]:
        if self._data_writer is not None and self._data_bytes >= self.data_mb * 2**20:
            self._data_writer.close()
            self._data_writer = None
            self._data_cursor.advance()
        cur = self._data_cursor
        if self._data_writer is None:
            path = self.root / DATA_PATH.format(chunk_index=cur.chunk, file_index=cur.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._data_writer = pq.ParquetWriter(path, table.schema)
            self._data_bytes = 0
        self._data_writer.write_table(table)
        self._data_bytes += table.nbytes
        return {"data/chunk_index": cur.chunk, "data/file_index": cur.file}

    def _write_video(self, key: str, frames: np.ndarray) -> dict[str, Any]:
        enc = self._video.get(key)
        cur = self._video_cursor[key]
        if enc is not None and enc.bytes_written >= self.video_mb * 2**20:
            enc.close()
            enc = None
            cur.advance()
        if enc is None:
            h, w = self.cameras[key]
            path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=cur.chunk, file_index=cur.file)
            enc = self._video[key] = VideoEncoder(path, self.fps, h, w, self.codec, self.crf, self.gop, self.pix_fmt)
        start = enc.frames_written / self.fps
        enc.write(frames)
        return {
            f"videos/{key}/chunk_index": cur.chunk,
            f"videos/{key}/file_index": cur.file,
            f"videos/{key}/from_timestamp": start,
            f"videos/{key}/to_timestamp": enc.frames_written / self.fps,
        }

    def _close_files(self) -> None:
        if self._data_writer is not None:
            self._data_writer.close()
            self._data_writer = None
        for enc in self._video.values():
            enc.close()
        self._video.clear()

    def finalize(self) -> Path:
        """Close the files and write meta/ (info, stats, tasks, episodes)."""
        if self._closed:
            return self.root
        if not self.episodes:
            raise ValueError(f"{self.root}: no episode was added; refusing to write an empty dataset")
        self._close_files()
        self._closed = True
        meta = self.root / "meta"
        (meta / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
        import pandas as pd

        tasks = pd.DataFrame({"task_index": list(self.tasks.values())}, index=pd.Index(list(self.tasks), name="task"))
        tasks.to_parquet(meta / "tasks.parquet")
        pq.write_table(
            pa.Table.from_pylist(self.episodes), self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        )
        stats = {k: acc.result() for k, acc in self._stats.items()}
        stats.update({k: acc.result() for k, acc in self._image_stats.items()})
        (meta / "stats.json").write_text(json.dumps(stats_to_json(stats), indent=2))
        (meta / "info.json").write_text(json.dumps(self._info(), indent=2))
        return self.root

    def _info(self) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for key, (h, w) in self.cameras.items():
            features[key] = {
                "dtype": "video",
                "shape": [h, w, 3],
                "names": ["height", "width", "channels"],
                "info": {
                    "video.height": h,
                    "video.width": w,
                    "video.codec": self.codec_label,
                    "video.pix_fmt": self.pix_fmt,
                    "video.is_depth_map": False,
                    "video.fps": self.fps,
                    "video.channels": 3,
                    "has_audio": False,
                },
            }
        features.update(self.features)
        features.update(INDEX_FEATURES)
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": len(self.episodes),
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": self.chunks_size,
            "data_files_size_in_mb": self.data_mb,
            "video_files_size_in_mb": self.video_mb,
            "fps": int(self.fps) if float(self.fps).is_integer() else self.fps,
            "splits": {"train": f"0:{len(self.episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.cameras else None,
            "features": features,
        }
        if self.librobot:
            info["librobot"] = self.librobot
        return info


def _check_feature(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    if "dtype" not in spec or "shape" not in spec:
        raise ValueError(f"feature {name!r}: needs 'dtype' and 'shape', got {dict(spec)}")
    return {"dtype": str(spec["dtype"]), "shape": [int(s) for s in spec["shape"]], "names": spec.get("names")}


def _to_arrow(values: np.ndarray, spec: Mapping[str, Any]) -> pa.Array:
    """Scalars ([1]) as plain columns, vectors as fixed-size lists (what HF datasets writes)."""
    if list(spec["shape"]) == [1]:
        return pa.array(values.reshape(-1))
    flat = values.reshape(len(values), -1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])


# -- reader ------------------------------------------------------------------------------------
class LeRobotV3Reader:
    """Read a LeRobot v3 dataset: metadata, frame columns (in memory) and decoded episodes.

    Numeric columns of all data files are loaded once (they are small next to the videos); video
    decoders stay open per file and per process (safe with DataLoader workers, which fork).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.is_file():
            raise FileNotFoundError(f"{info_path}: not found; {self.root} is not a LeRobot v3 dataset")
        self.info = json.loads(info_path.read_text())
        version = str(self.info.get("codebase_version", ""))
        if not version.startswith("v3"):
            raise ValueError(f"{info_path}: codebase_version is {version!r}; this reader reads v3.x datasets")
        self.fps = float(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.camera_keys = [k for k, v in self.features.items() if v.get("dtype") in ("video", "image")]
        self.cameras = _camera_names(self.camera_keys, info_path)
        self.tasks = _read_tasks(self.root / "meta" / "tasks.parquet")
        self.episodes = _read_episodes(self.root / "meta" / "episodes")
        self._stats: dict[str, dict[str, np.ndarray]] | None = None
        self._columns: dict[str, np.ndarray] | None = None
        self._inline_images: dict[str, np.ndarray] = {}
        self._decoders: dict[str, Any] = {}
        self._pid = os.getpid()

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def num_frames(self) -> int:
        return int(sum(e["length"] for e in self.episodes))

    @property
    def librobot(self) -> dict[str, Any]:
        return dict(self.info.get("librobot") or {})

    def feature_names(self, key: str) -> list[str]:
        """Per-dimension names; LeRobot writes a list, a dict (``{"motors": [...]}``) or nothing."""
        names = self.features[key].get("names")
        if isinstance(names, dict):
            names = [n for group in names.values() for n in (group if isinstance(group, list) else [group])]
        dim = int(np.prod(self.features[key]["shape"]))
        if not names or len(names) != dim:  # unnamed, or names that describe axes rather than dimensions
            return [f"{key}.{i}" for i in range(dim)]
        return [str(n) for n in names]

    def camera_key_of(self, cam: str) -> str:
        """The feature key of a camera given by short name or by key."""
        if cam in self.camera_keys:
            return cam
        if cam in self.cameras:
            return self.cameras[cam]
        raise KeyError(f"{self.root}: no camera {cam!r}; it has {list(self.cameras)} ({self.camera_keys})")

    @property
    def stats(self) -> dict[str, dict[str, np.ndarray]]:
        """meta/stats.json, with any numeric feature it lacks (or the whole file) computed from the frames."""
        if self._stats is None:
            path = self.root / "meta" / "stats.json"
            stats = stats_from_json(json.loads(path.read_text())) if path.is_file() else {}
            needed = {"mean", "std", "min", "max", "q01", "q99"}
            numeric = [
                k
                for k, v in self.features.items()
                if str(v.get("dtype", "")).startswith("float") and k not in INDEX_FEATURES
            ]
            missing = [k for k in numeric if not needed <= set(stats.get(k, {}))]
            if missing:
                cols = self.columns
                stats.update(compute_stats({k: cols[k].reshape(len(cols[k]), -1) for k in missing}))
            self._stats = stats
        return self._stats

    def data_files(self) -> list[Path]:
        keys = sorted({(e["data/chunk_index"], e["data/file_index"]) for e in self.episodes})
        return [self.root / self.info["data_path"].format(chunk_index=c, file_index=f) for c, f in keys]

    def video_path(self, episode: int, key: str) -> Path:
        e = self.episodes[episode]
        return self.root / self.info["video_path"].format(
            video_key=key, chunk_index=e[f"videos/{key}/chunk_index"], file_index=e[f"videos/{key}/file_index"]
        )

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Every non-video column of every frame, ordered by global ``index``."""
        if self._columns is None:
            inline = [k for k in self.camera_keys if self.features[k].get("dtype") == "image"]
            tables = [_read_without(p, inline) for p in self.data_files()]
            table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
            cols = {name: _column_to_numpy(table.column(name)) for name in table.column_names}
            order = np.argsort(cols["index"], kind="stable")
            self._columns = {k: v[order] for k, v in cols.items()}
        return self._columns

    def episode_slice(self, episode: int) -> slice:
        """Rows of ``columns`` that hold ``episode`` (global indices start at the first episode's)."""
        e = self.episodes[episode]
        base = int(self.episodes[0]["dataset_from_index"]) if self.episodes else 0
        return slice(int(e["dataset_from_index"]) - base, int(e["dataset_to_index"]) - base)

    def episode_data(self, episode: int) -> dict[str, np.ndarray]:
        sl = self.episode_slice(episode)
        return {k: v[sl] for k, v in self.columns.items()}

    def decode_episode(self, episode: int, key: str) -> np.ndarray:
        """uint8 [T, H, W, 3] frames of one camera for one episode (one seek, sequential decode)."""
        key = self.camera_key_of(key)
        if self.features[key].get("dtype") == "image":
            return self._inline_episode(episode, key)
        if os.getpid() != self._pid:  # forked into a DataLoader worker: open our own files
            self._decoders, self._pid = {}, os.getpid()
        path = self.video_path(episode, key)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: video of episode {episode}, {key}, is missing")
        dec = self._decoders.get(str(path))
        if dec is None:
            dec = self._decoders[str(path)] = VideoDecoder(path)
        e = self.episodes[episode]
        start, end = float(e[f"videos/{key}/from_timestamp"]), float(e[f"videos/{key}/to_timestamp"])
        return dec.read(start, end, self.fps, camera=key, episode=episode)  # errors name file, camera, episode, frame

    def _inline_episode(self, episode: int, key: str) -> np.ndarray:
        """uint8 [T, H, W, 3] of a camera stored in the parquet files (``dtype: image``, PNG/JPEG bytes)."""
        if key not in self._inline_images:
            tables = [pq.read_table(p, columns=[key, "index"]) for p in self.data_files()]
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            order = np.argsort(table.column("index").to_numpy(), kind="stable")
            cells = table.column(key).to_pylist()
            self._inline_images[key] = np.array([cells[i] for i in order], dtype=object)
        return np.stack(
            [_decode_image_cell(cell, key) for cell in self._inline_images[key][self.episode_slice(episode)]]
        )

    def task_of(self, task_index: int) -> str:
        return self.tasks[int(task_index)]

    def close(self) -> None:
        for dec in self._decoders.values():
            dec.close()
        self._decoders.clear()


def _camera_names(keys: Sequence[str], info_path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for key in keys:
        name = camera_name(key)
        if name in names:
            raise ValueError(f"{info_path}: cameras {names[name]!r} and {key!r} share the short name {name!r}")
        names[name] = key
    return names


def _read_without(path: Path, skip: Sequence[str]) -> pa.Table:
    if not skip:
        return pq.read_table(path)
    columns = [c for c in pq.read_schema(path).names if c not in skip]
    return pq.read_table(path, columns=columns)


def _decode_image_cell(cell: Any, key: str) -> np.ndarray:
    """One frame stored inline as HF datasets does: ``{"bytes": PNG/JPEG, "path": ...}``."""
    import io

    from PIL import Image

    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if not data:
        raise ValueError(f"{key}: a frame stored in the parquet has no image bytes ({cell!r:.80})")
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _read_tasks(path: Path) -> list[str]:
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (every v3 dataset lists its tasks there)")
    df = pd.read_parquet(path)
    texts = df["task"].tolist() if "task" in df.columns else [str(i) for i in df.index]
    out = [""] * len(df)
    for text, idx in zip(texts, df["task_index"].tolist(), strict=True):
        if not 0 <= int(idx) < len(df):
            raise ValueError(f"{path}: task_index {idx} out of range for {len(df)} tasks")
        out[int(idx)] = str(text)
    return out


def _read_episodes(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("chunk-*/file-*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no chunk-NNN/file-NNN.parquet episode files")
    rows: list[dict[str, Any]] = []
    for f in files:
        rows += pq.read_table(f).to_pylist()
    rows.sort(key=lambda r: r["episode_index"])
    for i, r in enumerate(rows):
        if r["episode_index"] != i:
            raise ValueError(f"{folder}: episode indices are not 0..N-1 (found {r['episode_index']} at position {i})")
    return rows


def _column_to_numpy(col: pa.ChunkedArray) -> np.ndarray:
    arr = col.combine_chunks()
    if pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type) or pa.types.is_large_list(arr.type):
        n = len(arr)
        flat = arr.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(n, -1) if n else flat.reshape(0, 0)
    return arr.to_numpy(zero_copy_only=False)


def read_info(root: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(root) / "meta" / "info.json").read_text())


def feature_spec(names: Sequence[str], dtype: str = "float32") -> dict[str, Any]:
    return {"dtype": dtype, "shape": [len(names)], "names": list(names)}
