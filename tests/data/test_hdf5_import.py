"""HDF5 (ALOHA and robomimic layouts) imports into the LeRobot v3 layout; bad files are named."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from librobot.data.hdf5_import import HDF5ImportError, import_hdf5
from librobot.data.lerobot_v3 import LeRobotV3Reader


def _aloha(path, length=5, nan=False, image_dtype=np.uint8):
    with h5py.File(path, "w") as f:
        qpos = np.arange(length * 14, dtype=np.float64).reshape(length, 14)
        if nan:
            qpos[2, 3] = np.nan
        f["observations/qpos"] = qpos
        f["observations/qvel"] = np.zeros((length, 14))
        f["observations/images/top"] = np.full((length, 16, 16, 3), 90, dtype=image_dtype)
        f["action"] = qpos[:, :14] * 0.5
        f.attrs["sim"] = True
    return path


def test_aloha_files_import_as_one_dataset(tmp_path):
    files = [_aloha(tmp_path / f"episode_{i}.hdf5", length=4 + i) for i in range(2)]
    root = import_hdf5(files, tmp_path / "out", fps=50, task="transfer the cube", codec="libx264")
    reader = LeRobotV3Reader(root)
    assert reader.num_episodes == 2 and reader.fps == 50 and reader.tasks == ["transfer the cube"]
    np.testing.assert_array_equal(
        reader.episode_data(1)["action"], (np.arange(70).reshape(5, 14) * 0.5).astype(np.float32)
    )
    assert reader.decode_episode(1, "top").shape == (5, 16, 16, 3)


def test_robomimic_demos_import_with_state_from_low_dim_keys(tmp_path):
    path = tmp_path / "robomimic.hdf5"
    with h5py.File(path, "w") as f:
        for d, n in enumerate((3, 4)):
            g = f.create_group(f"data/demo_{d}")
            g["actions"] = np.ones((n, 7)) * d
            g["obs/robot0_eef_pos"] = np.zeros((n, 3))
            g["obs/robot0_gripper_qpos"] = np.ones((n, 2))
            g["obs/agentview_image"] = np.zeros((n, 16, 16, 3), np.uint8)
        f["data"].attrs["task"] = "lift the cube"
    reader = LeRobotV3Reader(import_hdf5([path], tmp_path / "out", fps=20))
    assert reader.feature_names("observation.state")[:2] == ["robot0_eef_pos.0", "robot0_eef_pos.1"]
    assert reader.episode_data(1)["observation.state"].shape == (4, 5)
    assert reader.camera_keys == ["observation.images.agentview"] and reader.tasks == ["lift the cube"]


def test_bad_files_are_named_with_episode_and_field(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.hdf5"):
        import_hdf5([tmp_path / "missing.hdf5"], tmp_path / "o1", fps=10, task="t")
    bad = _aloha(tmp_path / "episode_nan.hdf5", nan=True)
    with pytest.raises(HDF5ImportError, match="episode_nan.hdf5: state has NaN or inf at frames \\[2\\]"):
        import_hdf5([bad], tmp_path / "o2", fps=10, task="t")
    wrong = _aloha(tmp_path / "episode_float.hdf5", image_dtype=np.float32)
    with pytest.raises(HDF5ImportError, match="images/top is float32"):
        import_hdf5([wrong], tmp_path / "o3", fps=10, task="t")
