"""``librobot data generate --workers N``: tasks recorded side by side give the dataset one process writes."""

from __future__ import annotations

import numpy as np
import pytest

from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.sim.record import RecordJob, record_dataset

TASKS = ("reach-v3", "button-press-topdown-v3", "drawer-close-v3")
COLUMNS = ("observation.state", "action", "next.reward", "next.success", "episode_index", "task_index")


def _record(path, workers: int, tasks=TASKS, **kwargs):
    jobs = [RecordJob("metaworld", {"task": t, "image_size": 32, **kwargs}) for t in tasks]
    return record_dataset(path, jobs, episodes=2, seed=0, progress=False, workers=workers)


def test_two_workers_write_the_dataset_one_process_writes(tmp_path):
    alone = _record(tmp_path / "one", workers=1)
    spread = _record(tmp_path / "two", workers=2)
    assert (spread.episodes, spread.frames, spread.attempts) == (alone.episodes, alone.frames, alone.attempts)
    assert spread.success_rate == alone.success_rate and list(spread.success_rate) == list(TASKS)
    one, two = LeRobotV3Reader(alone.path), LeRobotV3Reader(spread.path)
    for column in COLUMNS:
        np.testing.assert_array_equal(np.asarray(two.columns[column]), np.asarray(one.columns[column]), err_msg=column)
    assert [two.task_of(i) for i in range(len(TASKS))] == [one.task_of(i) for i in range(len(TASKS))]
    seeds = [e["librobot/seed"] for e in one.episodes]
    assert [e["librobot/seed"] for e in two.episodes] == seeds == [0, 1, 10_000, 10_001, 20_000, 20_001]
    for episode in range(one.num_episodes):
        for camera in one.camera_keys:
            np.testing.assert_array_equal(two.decode_episode(episode, camera), one.decode_episode(episode, camera))


def test_a_workers_error_reaches_the_caller_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"cameras: MetaWorld renders .*got \['wrist'\]"):
        _record(tmp_path / "bad", workers=2, cameras=["wrist"])


def test_workers_below_one_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"workers must be >= 1 .*got 0"):
        _record(tmp_path / "none", workers=0)


def test_a_task_records_its_own_episode_count_in_workers(tmp_path):
    jobs = [
        RecordJob("metaworld", {"task": "reach-v3", "image_size": 32}, episodes=3),
        RecordJob("metaworld", {"task": "drawer-close-v3", "image_size": 32}),
    ]
    result = record_dataset(tmp_path / "mixed", jobs, episodes=1, seed=0, progress=False, workers=2)
    reader = LeRobotV3Reader(result.path)
    assert [e["librobot/seed"] for e in reader.episodes] == [0, 1, 2, 10_000]
    assert [int(reader.episode_data(i)["task_index"][0]) for i in range(4)] == [0, 0, 0, 1]
    assert result.success_rate == {"reach-v3": 1.0, "drawer-close-v3": 1.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("reach-v3=2,push-v3=3", r"'push-v3' is not among the recorded tasks \['reach-v3', 'drawer-close-v3'\]"),
        ("reach-v3=0", r"'reach-v3=0' needs TASK=N with N >= 1"),
        ("reach-v3", r"'reach-v3' needs TASK=N with N >= 1"),
    ],
)
def test_cli_task_episodes_are_checked_against_the_tasks_by_name(tmp_path, capsys, spec, message):
    from librobot.cli import main

    argv = ["data", "generate", "--tasks", "reach-v3,drawer-close-v3", "--task-episodes", spec]
    with pytest.raises(SystemExit, match=message):
        main([*argv, "--out", str(tmp_path / "never")])
    assert not (tmp_path / "never").exists()
