"""The recorder stores the expert's phase per step and, on request, the task-layout targets."""

import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from librobot.data.lerobot_v3 import LeRobotV3Reader  # noqa: E402
from librobot.sim import make_env  # noqa: E402
from librobot.sim.record import RecordJob, record_dataset  # noqa: E402


def _record(tmp_path, kwargs):
    record_dataset(tmp_path / "ds", [RecordJob("wheel_loader", kwargs)], episodes=1, seed=5, progress=False)
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    table = pq.read_table(next((tmp_path / "ds" / "data").rglob("*.parquet"))).to_pandas()
    return info, table


def test_phase_is_recorded_as_an_index_into_the_env_phase_names(tmp_path):
    info, table = _record(tmp_path, {"cameras": [], "include_targets": True})
    names = info["librobot"]["phase_names"]
    assert names == list(make_env("wheel_loader", render=False).phase_names)
    assert info["features"]["phase"]["dtype"] == "int64"
    phase = np.asarray(table["phase"].tolist()).reshape(-1)
    seen = [names[i] for i in dict.fromkeys(phase.tolist())]  # phases in order of first appearance
    # a successful loading cycle passes through these phases in this order
    assert seen[:6] == ["approach", "penetrate", "curl", "reverse", "to_truck", "dump"]
    assert phase[0] == names.index("approach") and phase[-1] == names.index("dump")


def test_targets_are_a_separate_named_feature_equal_to_the_env_layout(tmp_path):
    info, table = _record(tmp_path, {"cameras": [], "include_targets": True})
    env = make_env("wheel_loader", render=False, include_targets=True)
    assert info["features"]["observation.targets"]["names"] == env.target_names
    assert len(info["features"]["observation.state"]["names"]) == 22  # targets stay out of the state
    targets = np.stack(table["observation.targets"].to_numpy())
    expected = env.reset(5)["targets"]  # episode seed = seed + attempt 0
    np.testing.assert_allclose(targets[0], expected, rtol=1e-6)
    reader = LeRobotV3Reader(tmp_path / "ds")
    assert reader.info["features"]["observation.targets"]["shape"] == [len(env.target_names)]


def test_without_include_targets_no_targets_feature_is_written(tmp_path):
    info, _ = _record(tmp_path, {"cameras": []})
    assert "observation.targets" not in info["features"] and "phase" in info["features"]
