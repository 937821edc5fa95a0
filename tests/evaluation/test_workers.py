"""``eval.workers``: tasks rolled out in worker processes give the episodes one process gives."""

from __future__ import annotations

import pytest

from librobot.evaluation.run import evaluate
from tests.helpers.tiny_run import TASKS

TIMING = ("inference_ms_per_chunk",)


def _episodes(report: dict) -> dict[str, list[dict]]:
    return {
        task: [{k: v for k, v in e.items() if k not in TIMING} for e in r["episodes_detail"]]
        for task, r in report["per_task"].items()
    }


def test_two_workers_roll_out_the_episodes_one_process_does(tiny_bundle, tmp_path):
    # one torch thread everywhere: the same kernels, so the same bits, whichever process runs a task
    settings = {"max_steps": 15, "num_threads": 1, "offline": False, "videos_per_task": 1}
    alone = evaluate(tiny_bundle, tmp_path / "one", episodes=3, overrides=settings, record_in_bundle=False)
    spread = evaluate(
        tiny_bundle, tmp_path / "two", episodes=3, overrides={**settings, "workers": 2}, record_in_bundle=False
    )
    assert list(spread["per_task"]) == list(alone["per_task"]) == list(TASKS)  # job order, not finishing order
    assert _episodes(spread) == _episodes(alone)
    assert spread["episodes"] == alone["episodes"] == 3 * len(TASKS)
    assert spread["successes"] == alone["successes"] and spread["success_ci95"] == alone["success_ci95"]
    for task, r in spread["per_task"].items():
        (video,) = r["videos"]  # written by the worker into the report directory
        assert (tmp_path / "two" / video).is_file() and video == alone["per_task"][task]["videos"][0]
    assert spread["inference_ms_per_chunk"] > 0


def test_a_workers_error_reaches_the_caller_by_name(tiny_bundle, tmp_path):
    bad_env = {"workers": 2, "offline": False, "env_kwargs": {"cameras": ["wrist"]}}  # fails in the worker's make_env
    with pytest.raises(ValueError, match=r"cameras: MetaWorld renders .*got \['wrist'\]"):
        evaluate(tiny_bundle, tmp_path / "eval", episodes=1, overrides=bad_env, record_in_bundle=False)
    assert not (tmp_path / "eval" / "report.json").exists()


def test_workers_below_one_is_refused_by_name(tiny_bundle, tmp_path):
    with pytest.raises(ValueError, match=r"eval.workers must be >= 1 .*got 0"):
        evaluate(tiny_bundle, tmp_path / "eval", episodes=1, overrides={"workers": 0}, record_in_bundle=False)
