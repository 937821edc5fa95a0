"""The LeRobot MetaWorld protocol: fixed caps and seeds, seeds unseen in training, success by difficulty."""

from __future__ import annotations

import pytest

from librobot.evaluation.protocols import (
    METAWORLD_DIFFICULTY,
    group_summary,
    protocol_settings,
    recorded_seeds,
    seen_seeds,
)
from librobot.evaluation.stats import wilson_interval


def test_protocol_fixes_the_step_cap_episodes_and_seeds(tiny_bundle):
    from librobot.bundle import load_bundle
    from librobot.evaluation.run import env_jobs, eval_config

    info = load_bundle(tiny_bundle, with_model=False)
    cfg = eval_config(info.cfg, protocol_settings("lerobot_metaworld", {"tasks": ["reach-v3"], "videos_per_task": 0}))
    assert (cfg.max_steps, cfg.episodes_per_task, cfg.seed) == (500, 10, 1000)
    assert cfg.tasks == ["reach-v3"] and cfg.videos_per_task == 0  # what the protocol leaves free stays the caller's
    _, jobs = env_jobs(cfg, info.metadata)
    assert jobs == [{**jobs[0], "task": "reach-v3", "max_steps": 500}]  # the env's own limit (200) is raised to the cap


def test_a_setting_that_contradicts_the_protocol_is_refused_by_name():
    with pytest.raises(ValueError, match=r"fixes max_steps=500; drop max_steps=200"):
        protocol_settings("lerobot_metaworld", {"max_steps": 200})
    assert protocol_settings("lerobot_metaworld", {"max_steps": 500, "seed": None})["seed"] == 1000
    with pytest.raises(ValueError, match="eval.protocol must be one of lerobot_metaworld"):
        protocol_settings("metaworld", {})


def test_difficulty_groups_cover_mt50_once_each():
    tasks = [t for group in METAWORLD_DIFFICULTY.values() for t in group]
    assert len(tasks) == 50 and len(set(tasks)) == 50
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    assert set(tasks) == set(ALL_V3_ENVIRONMENTS)


def test_group_summary_pools_the_episodes_of_each_groups_evaluated_tasks():
    per_task = {
        "reach-v3": {"successes": 9, "episodes": 10},
        "drawer-close-v3": {"successes": 10, "episodes": 10},
        "push-v3": {"successes": 3, "episodes": 10},
    }
    groups = group_summary(per_task, METAWORLD_DIFFICULTY, wilson_interval)
    assert set(groups) == {"easy", "hard"}  # no medium / very hard task was evaluated
    assert groups["easy"]["success_rate"] == pytest.approx(0.95) and groups["easy"]["episodes"] == 20
    assert groups["hard"]["tasks"] == ["push-v3"]
    lo, hi = groups["hard"]["ci95"]
    assert lo < 0.3 < hi


def test_seeds_are_read_per_task_from_the_recording(tiny_dataset):
    seeds = recorded_seeds(tiny_dataset)
    assert set(seeds) == {"reach-v3", "button-press-topdown-v3"}
    assert all(s < 1000 or s >= 10_000 for task in seeds.values() for s in task)
    # the recorder seeds task j from seed + 10_000 j: the protocol's 1000..1009 are unseen
    assert seen_seeds({"reach-v3": range(1000, 1010), "button-press-topdown-v3": range(1000, 1010)}, tiny_dataset) == {}
    first = min(seeds["reach-v3"])
    assert seen_seeds({"reach-v3": [first], "button-press-topdown-v3": [first]}, tiny_dataset) == {"reach-v3": [first]}


def test_evaluating_on_seeds_the_demonstrations_used_is_refused_under_the_protocol(tiny_bundle, tmp_path):
    from librobot.evaluation.run import evaluate
    from librobot.sim.record import RecordJob, record_dataset

    replayed = tmp_path / "recorded_at_1000"
    record_dataset(replayed, [RecordJob("metaworld", {"task": "reach-v3", "image_size": 32})], episodes=1, seed=1000)
    settings = {"protocol": "lerobot_metaworld", "tasks": ["reach-v3"]}
    with pytest.raises(ValueError, match=r"seeds the training data was recorded with .*'reach-v3': \[1000"):
        evaluate(tiny_bundle, tmp_path / "eval", overrides=settings, dataset=replayed, progress=False)
    assert not (tmp_path / "eval" / "report.json").exists()
