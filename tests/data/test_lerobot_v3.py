"""LeRobot v3 on disk: our writer -> reader round trip, and a dataset laid out as LeRobot writes it."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from librobot.data.lerobot_v3 import LeRobotV3Reader
from tests.helpers.data_fixtures import (
    ACTION_NAMES,
    FPS,
    LENGTHS,
    STATE_NAMES,
    episode_arrays,
    smooth_frames,
    write_tiny,
)

IMAGE_MAE_LIMIT = 6.0  # mean absolute error (0..255) a yuv420p encode of smooth frames stays under


def test_info_json_follows_v3_layout(tiny_dataset):
    info = json.loads((tiny_dataset / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    assert info["total_episodes"] == len(LENGTHS) and info["total_frames"] == sum(LENGTHS) and info["total_tasks"] == 2
    assert info["features"]["observation.state"] == {"dtype": "float32", "shape": [3], "names": STATE_NAMES}
    cam = info["features"]["observation.images.front"]
    assert cam["dtype"] == "video" and cam["shape"] == [32, 32, 3] and cam["info"]["video.pix_fmt"] == "yuv420p"
    assert info["librobot"]["env"] == "toy" and info["robot_type"] == "toy"
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert key in info["features"]
    assert (tiny_dataset / "meta" / "tasks.parquet").is_file()
    assert (tiny_dataset / "meta" / "episodes" / "chunk-000" / "file-000.parquet").is_file()


def test_round_trip_is_exact_except_images_within_codec_tolerance(tiny_dataset):
    reader = LeRobotV3Reader(tiny_dataset)
    assert reader.num_episodes == len(LENGTHS) and reader.fps == FPS
    assert reader.tasks == ["pick the cube", "push the cube"]
    assert reader.feature_names("observation.state") == STATE_NAMES
    assert reader.feature_names("action") == ACTION_NAMES
    for ep, n in enumerate(LENGTHS):
        data = reader.episode_data(ep)
        expected = episode_arrays(ep, n)
        np.testing.assert_array_equal(data["observation.state"], expected["observation.state"].astype(np.float32))
        np.testing.assert_array_equal(data["action"], expected["action"].astype(np.float32))
        np.testing.assert_array_equal(data["frame_index"], np.arange(n))
        np.testing.assert_array_equal(data["episode_index"], np.full(n, ep))
        np.testing.assert_allclose(data["timestamp"], np.arange(n) / FPS, atol=1e-6)
        assert reader.task_of(data["task_index"][0]) == ["pick the cube", "push the cube"][ep % 2]
        frames = reader.decode_episode(ep, "front")
        assert frames.shape == (n, 32, 32, 3) and frames.dtype == np.uint8
        err = np.abs(frames.astype(np.int16) - smooth_frames(n, seed=ep).astype(np.int16)).mean()
        assert err < IMAGE_MAE_LIMIT, f"episode {ep}: image error {err:.2f}"
    assert np.array_equal(reader.columns["index"], np.arange(sum(LENGTHS)))


def test_several_episodes_share_files_and_rollover_by_size(tmp_path):
    # a tiny data-file budget forces a new parquet file; videos keep several episodes per mp4
    root = write_tiny(tmp_path / "ds", codec="libx264", lengths=(5, 5, 5, 5), data_files_size_in_mb=0.0002)
    reader = LeRobotV3Reader(root)
    data_files = {(e["data/chunk_index"], e["data/file_index"]) for e in reader.episodes}
    video_files = {e["videos/observation.images.front/file_index"] for e in reader.episodes}
    assert len(data_files) > 1
    assert len(video_files) == 1
    assert [e["videos/observation.images.front/from_timestamp"] for e in reader.episodes] == [0.0, 0.5, 1.0, 1.5]
    for ep in range(4):  # H.264 decodes the same way as AV1
        assert reader.decode_episode(ep, "front").shape == (5, 32, 32, 3)
        assert reader.episode_data(ep)["observation.state"][0, 0] == pytest.approx(100 * ep + 0.25)


def test_writer_refuses_bad_episodes_with_the_field_named(tmp_path):
    from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec

    writer = LeRobotV3Writer(
        tmp_path / "ds", 10, {"observation.state": feature_spec(["a", "b"])}, cameras={"c": (8, 8)}
    )
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="observation.state has shape \\[3\\]"):
        writer.add_episode("t", {"observation.state": np.zeros((3, 3))}, {"c": frames})
    with pytest.raises(ValueError, match="NaN or inf"):
        writer.add_episode("t", {"observation.state": np.full((3, 2), np.nan)}, {"c": frames})
    with pytest.raises(ValueError, match="camera c frames"):
        writer.add_episode("t", {"observation.state": np.zeros((3, 2))}, {"c": np.zeros((3, 8, 4, 3), np.uint8)})
    writer._close_files()


# -- a dataset written the way LeRobot 0.4 writes it, built by hand from the v3 spec -------------------
def _encode_av1(path, frames, fps):
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        codec = "libsvtav1" if "libsvtav1" in av.codecs_available else "libx264"
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"g": "2", "crf": "30"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def lerobot_written(tmp_path_factory):
    import pandas as pd

    root = tmp_path_factory.mktemp("lerobot") / "so100_test"
    fps, lengths, key = 30, (4, 6), "observation.images.laptop"
    motors = [
        "shoulder_pan.pos",
        "shoulder_lift.pos",
        "elbow_flex.pos",
        "wrist_flex.pos",
        "wrist_roll.pos",
        "gripper.pos",
    ]
    info = {
        "codebase_version": "v3.0",
        "robot_type": "so100_follower",
        "total_episodes": 2,
        "total_frames": sum(lengths),
        "total_tasks": 1,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": {"train": "0:2"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "features": {
            "action": {"dtype": "float32", "shape": [6], "names": motors},
            "observation.state": {"dtype": "float32", "shape": [6], "names": motors},
            key: {
                "dtype": "video",
                "shape": [48, 64, 3],
                "names": ["height", "width", "channels"],
                "info": {
                    "video.height": 48,
                    "video.width": 64,
                    "video.codec": "av1",
                    "video.pix_fmt": "yuv420p",
                    "video.is_depth_map": False,
                    "video.fps": fps,
                    "video.channels": 3,
                    "has_audio": False,
                },
            },
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        },
    }
    (root / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    # tasks.parquet: the task string is the pandas index, task_index a column
    pd.DataFrame({"task_index": [0]}, index=["Grasp a lego block and put it in the bin."]).to_parquet(
        root / "meta" / "tasks.parquet"
    )
    rng = np.random.default_rng(3)
    states = [rng.normal(size=(n, 6)).astype(np.float32) for n in lengths]
    # one data file per episode here (LeRobot rolls files by size), variable-length list columns
    start = 0
    for ep, n in enumerate(lengths):
        df = pd.DataFrame(
            {
                "action": list(states[ep] * 2),
                "observation.state": list(states[ep]),
                "timestamp": (np.arange(n) / fps).astype(np.float32),
                "frame_index": np.arange(n),
                "episode_index": np.full(n, ep),
                "index": start + np.arange(n),
                "task_index": np.zeros(n, dtype=np.int64),
            }
        )
        path = root / "data" / "chunk-000" / f"file-{ep:03d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(path)
        start += n
    frames = smooth_frames(sum(lengths), size=64)[:, :48]
    _encode_av1(root / "videos" / key / "chunk-000" / "file-000.mp4", frames, fps)
    rows = []
    start = 0
    for ep, n in enumerate(lengths):
        rows.append(
            {
                "episode_index": ep,
                "tasks": ["Grasp a lego block and put it in the bin."],
                "length": n,
                "data/chunk_index": 0,
                "data/file_index": ep,
                "dataset_from_index": start,
                "dataset_to_index": start + n,
                f"videos/{key}/chunk_index": 0,
                f"videos/{key}/file_index": 0,
                f"videos/{key}/from_timestamp": start / fps,
                f"videos/{key}/to_timestamp": (start + n) / fps,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                "stats/action/mean": list(states[ep].mean(0) * 2),
            }
        )
        start += n
    pq.write_table(pa.Table.from_pylist(rows), root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    return root, states, frames


def test_reads_a_dataset_laid_out_as_lerobot_v3_writes_it(lerobot_written):
    root, states, frames = lerobot_written
    reader = LeRobotV3Reader(root)
    assert reader.tasks == ["Grasp a lego block and put it in the bin."]
    assert reader.camera_keys == ["observation.images.laptop"]
    assert reader.num_frames == 10 and reader.fps == 30
    np.testing.assert_array_equal(reader.episode_data(1)["observation.state"], states[1])
    got = reader.decode_episode(1, "laptop")
    assert got.shape == (6, 48, 64, 3)
    assert np.abs(got.astype(np.int16) - frames[4:].astype(np.int16)).mean() < IMAGE_MAE_LIMIT


def test_chunked_dataset_loads_lerobot_written_data_without_stats_json(lerobot_written):
    from librobot.data.dataset import ChunkedDataset

    root, states, _ = lerobot_written
    ds = ChunkedDataset(root, action_horizon=3)
    sample = ds[0]
    assert sample["images"].shape == (1, 3, 48, 64)
    np.testing.assert_array_equal(sample["actions"].numpy(), states[0][:3] * 2)
    assert sample["instruction"] == "Grasp a lego block and put it in the bin."
    assert "action" in ds.stats()  # computed from the data when meta/stats.json is absent


def test_reader_refuses_other_versions(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v2.1", "fps": 10}))
    with pytest.raises(ValueError, match="v2.1"):
        LeRobotV3Reader(tmp_path)
    with pytest.raises(FileNotFoundError, match="info.json"):
        LeRobotV3Reader(tmp_path / "nothing")
