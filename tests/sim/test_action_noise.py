"""DART recording: the env executes a perturbed action, the dataset keeps the expert's clean one."""

import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from librobot.sim import make_env  # noqa: E402
from librobot.sim.action_noise import ActionNoise  # noqa: E402
from librobot.sim.record import RecordJob, record_dataset, record_episode  # noqa: E402

NAMES = ["throttle", "steering", "gear"]
BOUNDS = (np.array([0.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0]))


def test_parse_reads_name_sigma_pairs_and_names_bad_items():
    assert ActionNoise.parse("steering=0.3, boom=0.2").sigma == {"steering": 0.3, "boom": 0.2}
    with pytest.raises(ValueError, match="expected NAME=SIGMA"):
        ActionNoise.parse("steering")
    with pytest.raises(ValueError, match="sigma 'high' is not a number"):
        ActionNoise.parse("steering=high")
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        ActionNoise.parse("steering=-1")
    with pytest.raises(ValueError, match=r"correlation must be in \[0, 1\)"):
        ActionNoise.parse("steering=0.1", correlation=1.0)


def test_unknown_action_names_are_refused_with_the_robots_actions():
    with pytest.raises(ValueError, match=r"\['boom'\] are not actions of this robot; actions: \['throttle'"):
        ActionNoise({"boom": 0.1}).sampler(NAMES, BOUNDS, seed=0)


def test_noise_is_seeded_scaled_by_half_range_clipped_and_absent_on_unnamed_actions():
    noise = ActionNoise({"throttle": 0.2, "steering": 0.2}, correlation=0.8)
    action = np.array([0.5, 0.0, 1.0])
    sample = noise.sampler(NAMES, BOUNDS, seed=3)
    out = np.stack([sample(action) for _ in range(20_000)])
    again = noise.sampler(NAMES, BOUNDS, seed=3)
    np.testing.assert_array_equal(out[:3], np.stack([again(action) for _ in range(3)]))  # same seed, same draws
    assert np.all(out[:, 2] == 1.0)  # gear: not named, untouched
    assert out[:, 0].min() >= 0.0 and out[:, 0].max() <= 1.0
    # stationary std of the AR(1) process is sigma * half-range: 0.2 * 0.5 for throttle, 0.2 * 1 for steering
    assert abs(out[:, 1].std() - 0.2) < 0.02 and abs(out[:, 0].std() - 0.1) < 0.01
    lag1 = np.corrcoef(out[:-1, 1], out[1:, 1])[0, 1]
    assert abs(lag1 - 0.8) < 0.03


def test_recorded_labels_are_the_clean_expert_actions_along_the_perturbed_path():
    noise = ActionNoise({"throttle": 0.3, "steering": 0.5, "boom": 0.3, "bucket": 0.3}, correlation=0.8)
    env = make_env("wheel_loader", render=False)
    steps, _ = record_episode(env, seed=4, action_noise=noise)
    clean, _ = record_episode(env, seed=4)
    n = min(len(steps["state"]), len(clean["state"]), 60)
    assert not np.allclose(np.stack(steps["state"][:n]), np.stack(clean["state"][:n]))  # the path was perturbed
    # a fresh expert shown the recorded states in order gives exactly the stored actions
    env.reset(4)
    expert = env.expert()
    for state, action in zip(steps["state"], steps["action"], strict=True):
        np.testing.assert_array_equal(expert({"state": state}), action)


def test_record_dataset_stores_the_noise_settings(tmp_path):
    noise = ActionNoise({"steering": 0.2}, correlation=0.5)
    record_dataset(
        tmp_path / "ds",
        [RecordJob("wheel_loader", {"cameras": []})],
        episodes=1,
        seed=2,
        progress=False,
        action_noise=noise,
    )
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    assert info["librobot"]["action_noise"] == {
        "sigma": {"steering": 0.2},
        "correlation": 0.5,
        "label": "clean expert action",
    }
    table = pq.read_table(next((tmp_path / "ds" / "data").rglob("*.parquet"))).to_pandas()
    assert len(table) > 100


def _metaworld_jobs(reach: float = 1.0, drawer: float = 1.0) -> list[RecordJob]:
    return [
        RecordJob("metaworld", {"task": "reach-v3", "image_size": 32}, noise_scale=reach),
        RecordJob("metaworld", {"task": "drawer-close-v3", "image_size": 32}, noise_scale=drawer),
    ]


def test_noise_is_scaled_per_job_and_info_lists_the_scales(tmp_path):
    noise = ActionNoise({"dx": 0.3, "dy": 0.3, "dz": 0.3}, correlation=0.8)
    common = {"episodes": 1, "seed": 0, "progress": False}
    clean = record_dataset(tmp_path / "clean", _metaworld_jobs(), **common)
    mixed = record_dataset(tmp_path / "mixed", _metaworld_jobs(drawer=0.0), action_noise=noise, **common)
    half = record_dataset(tmp_path / "half", _metaworld_jobs(reach=0.5), action_noise=noise.scaled(2), **common)

    def states(path) -> list[np.ndarray]:
        table = pq.read_table(next((path / "data").rglob("*.parquet"))).to_pandas()
        return [np.stack(g["observation.state"].to_numpy()) for _, g in table.groupby("episode_index")]

    (clean_reach, clean_drawer), (noisy_reach, drawer) = states(clean.path), states(mixed.path)
    np.testing.assert_array_equal(drawer, clean_drawer)  # the clean job: the episode recorded without noise
    n = min(len(noisy_reach), len(clean_reach))
    assert not np.allclose(noisy_reach[:n], clean_reach[:n])  # reach walked the perturbed path
    np.testing.assert_array_equal(states(half.path)[0], noisy_reach)  # 0.5 x (2 x sigma): the same draws
    info = json.loads((mixed.path / "meta" / "info.json").read_text())["librobot"]["action_noise"]
    assert info["scales"] == [
        {"env_kwargs": {"task": "reach-v3", "image_size": 32}, "scale": 1.0},
        {"env_kwargs": {"task": "drawer-close-v3", "image_size": 32}, "scale": 0.0},
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--action-noise", "dx=0.3", "--noise-tasks", "push-v3"], r"'push-v3' is not among the recorded tasks"),
        (["--action-noise", "dx=0.3", "--noise-tasks", "reach-v3=-1"], r"'reach-v3=-1' needs TASK or TASK=SCALE"),
        (["--action-noise", "dx=0.3", "--noise-tasks", "reach-v3=x"], r"'reach-v3=x' needs TASK or TASK=SCALE"),
        (["--noise-tasks", "reach-v3"], "give --action-noise too"),
    ],
)
def test_cli_noise_tasks_are_checked_by_name_before_anything_is_written(tmp_path, extra, message):
    from librobot.cli import main

    argv = ["data", "generate", "--tasks", "reach-v3,drawer-close-v3", "--out", str(tmp_path / "never"), *extra]
    with pytest.raises(SystemExit, match=message):
        main(argv)
    assert not (tmp_path / "never").exists()


def test_cli_noise_tasks_on_a_one_task_env_is_refused(tmp_path):
    from librobot.cli import main

    argv = ["data", "generate", "--env", "wheel_loader", "--out", str(tmp_path / "never")]
    with pytest.raises(SystemExit, match="--noise-tasks: env 'wheel_loader' records one task"):
        main([*argv, "--action-noise", "steering=0.3", "--noise-tasks", "dig"])
    assert not (tmp_path / "never").exists()
