"""Datasets laid out as LeRobot writes them, not as LibroBot does: they load with exact values.

Each variant is made from the tiny dataset by the change LeRobot's own writer makes: a single camera
named ``observation.image``, features without names or with ``{"motors": [...]}`` names, no
``meta/stats.json``, frames stored inline in the parquet (``dtype: image``, PNG bytes).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from librobot.data.dataset import ChunkedDataset
from librobot.data.lerobot_v3 import LeRobotV3Reader, camera_name
from librobot.robots.from_dataset import names_dataset_robot, robot_from_dataset
from tests.helpers.data_fixtures import ACTION_NAMES, FPS, LENGTHS, STATE_NAMES

FRONT = "observation.images.front"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_info(root: Path, edit) -> None:
    path = root / "meta" / "info.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info, indent=2))


def _rename_columns(path: Path, rename) -> None:
    table = pq.read_table(path)
    pq.write_table(table.rename_columns([rename(c) for c in table.column_names]), path)


def single_camera_layout(src: Path, dst: Path, key: str = "observation.image") -> Path:
    """LeRobot's single-camera datasets (PushT, MetaWorld): the camera is ``observation.image``."""
    root = _copy(src, dst)
    _edit_info(root, lambda info: info["features"].__setitem__(key, info["features"].pop(FRONT)))
    (root / "videos" / FRONT).rename(root / "videos" / key)
    for f in (root / "meta" / "episodes").rglob("*.parquet"):
        _rename_columns(f, lambda c: c.replace(f"videos/{FRONT}/", f"videos/{key}/"))
    stats = json.loads((root / "meta" / "stats.json").read_text())
    stats[key] = stats.pop(FRONT)
    (root / "meta" / "stats.json").write_text(json.dumps(stats))
    return root


def inline_image_layout(src: Path, dst: Path) -> Path:
    """Frames stored in the parquet as ``{"bytes": PNG, "path": None}`` (``dtype: image``), no video."""
    from PIL import Image

    root = _copy(src, dst)
    reader = LeRobotV3Reader(src)
    frames = np.concatenate([reader.decode_episode(e, "front") for e in range(reader.num_episodes)])
    cells = []
    for frame in frames:
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="PNG")
        cells.append({"bytes": buf.getvalue(), "path": None})
    data = root / "data" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(data)
    struct = pa.array(cells, type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    pq.write_table(table.append_column(FRONT, struct), data)

    def to_image(info):
        info["features"][FRONT] = {"dtype": "image", "shape": [32, 32, 3], "names": ["height", "width", "channel"]}
        info["video_path"] = None

    _edit_info(root, to_image)
    shutil.rmtree(root / "videos")
    for f in (root / "meta" / "episodes").rglob("*.parquet"):
        table = pq.read_table(f)
        pq.write_table(table.drop_columns([c for c in table.column_names if c.startswith("videos/")]), f)
    return root, frames


@pytest.fixture(scope="module")
def original(tiny_dataset):
    reader = LeRobotV3Reader(tiny_dataset)
    return {e: reader.decode_episode(e, "front") for e in range(reader.num_episodes)}


def test_camera_names_strip_the_lerobot_prefixes():
    assert camera_name("observation.images.top") == "top"
    assert camera_name("observation.image") == "image"
    assert camera_name("rgb") == "rgb"


def test_a_single_camera_named_observation_image_loads_with_exact_frames(tiny_dataset, tmp_path, original):
    root = single_camera_layout(tiny_dataset, tmp_path / "single")
    reader = LeRobotV3Reader(root)
    assert reader.cameras == {"image": "observation.image"}
    ds = ChunkedDataset(root, action_horizon=2)
    assert ds.cameras == ["image"]
    for episode, frames in original.items():
        np.testing.assert_array_equal(reader.decode_episode(episode, "image"), frames)  # same mp4 bytes
        np.testing.assert_array_equal(reader.decode_episode(episode, "observation.image"), frames)
    assert ChunkedDataset(root, cameras=["observation.image"]).cameras == ["image"]
    with pytest.raises(ValueError, match=r"cameras \['front'\] not in the dataset; it has \['image'\]"):
        ChunkedDataset(root, cameras=["front"])


def test_unnamed_and_dict_named_features(tiny_dataset, tmp_path):
    root = _copy(tiny_dataset, tmp_path / "names")

    def edit(info):
        info["features"]["observation.state"]["names"] = None
        info["features"]["action"]["names"] = {"motors": ACTION_NAMES}

    _edit_info(root, edit)
    reader = LeRobotV3Reader(root)
    assert reader.feature_names("observation.state") == [f"observation.state.{i}" for i in range(len(STATE_NAMES))]
    assert reader.feature_names("action") == ACTION_NAMES
    ds = ChunkedDataset(root, action_horizon=2)
    assert ds.state_names == reader.feature_names("observation.state")


def test_stats_are_computed_when_the_dataset_has_none(tiny_dataset, tmp_path):
    root = _copy(tiny_dataset, tmp_path / "nostats")
    (root / "meta" / "stats.json").unlink()
    computed = LeRobotV3Reader(root).stats
    written = LeRobotV3Reader(tiny_dataset).stats
    for feature in ("observation.state", "action"):
        for key in ("mean", "std", "min", "max"):
            np.testing.assert_allclose(computed[feature][key], written[feature][key], rtol=1e-6, atol=1e-6)
        span = written[feature]["max"] - written[feature]["min"]
        for key in ("q01", "q99"):  # histogram quantiles: streamed by episode vs. in one pass, a bin apart
            np.testing.assert_allclose(computed[feature][key], written[feature][key], atol=0.01 * span.max())
    ChunkedDataset(root).normalizer({"observation.state": "mean_std", "action": "min_max"})


def test_images_stored_inline_in_the_parquet_load_exactly(tiny_dataset, tmp_path):
    root, frames = inline_image_layout(tiny_dataset, tmp_path / "inline")
    reader = LeRobotV3Reader(root)
    assert reader.cameras == {"front": FRONT}
    assert FRONT not in reader.columns  # image bytes are not loaded with the numeric columns
    start = 0
    for episode, length in enumerate(LENGTHS):
        np.testing.assert_array_equal(reader.decode_episode(episode, "front"), frames[start : start + length])
        start += length
    ds = ChunkedDataset(root, action_horizon=2)
    np.testing.assert_array_equal(ds[0]["images"][0].numpy(), frames[0].transpose(2, 0, 1))


def test_robot_from_dataset_takes_names_action_bounds_cameras_and_fps(tiny_dataset, tmp_path):
    root = single_camera_layout(tiny_dataset, tmp_path / "robot")
    reader = LeRobotV3Reader(root)
    robot = robot_from_dataset(reader)
    assert robot.name == "toy" and robot.fps == FPS
    assert robot.state_names == STATE_NAMES and robot.action_names == ACTION_NAMES
    low, high = robot.bounds("action")
    np.testing.assert_array_equal(low, reader.stats["action"]["min"])
    np.testing.assert_array_equal(high, reader.stats["action"]["max"])
    assert np.isinf(robot.bounds("state")[0]).all()  # a state outside the recorded range is not refused
    assert [(c.name, c.height, c.width) for c in robot.cameras] == [("image", 32, 32)]
    assert names_dataset_robot("dataset") and names_dataset_robot({"name": "dataset"})
    assert not names_dataset_robot({"name": "metaworld_sawyer"}) and not names_dataset_robot(
        {"name": "dataset", "state": []}
    )


def test_data_check_names_what_training_could_not_use(tiny_dataset, tmp_path):
    from librobot.data.checks import check_dataset

    root = _copy(tiny_dataset, tmp_path / "unusable")

    def edit(info):
        info["features"]["actions"] = info["features"].pop("action")  # not the key training reads
        info["features"]["observation.state"]["dtype"] = "int64"
        info["features"]["observation.image"] = {"dtype": "image", "shape": [32, 32], "names": None}

    _edit_info(root, edit)
    problems = [str(p) for p in check_dataset(root, videos=False) if "info.json" in p.file]
    assert any("action: missing: training reads it" in p and "'actions'" in p for p in problems)
    assert any("observation.state: has dtype int64; expected float" in p for p in problems)
    assert any("observation.image: camera shape [32, 32] is not an RGB image" in p for p in problems)
