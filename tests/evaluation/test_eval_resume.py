"""``librobot eval --resume``: a killed evaluation keeps the tasks it finished and gives the report of one run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from librobot.bundle import load_bundle
from librobot.evaluation.run import env_jobs, eval_config, evaluate
from librobot.evaluation.tasks import roll_out_in_workers
from tests.helpers.tiny_run import TASKS

TIMING = ("inference_ms_per_chunk",)
SETTINGS = {"max_steps": 15, "num_threads": 1, "offline": False, "videos_per_task": 0}
CLI_SETTINGS = ["--episodes", "3", "--max-steps", "15", "--threads", "1", "--videos", "0", "--no-offline"]


def _episodes(report: dict) -> dict[str, list[dict]]:
    return {
        task: [{k: v for k, v in e.items() if k not in TIMING} for e in r["episodes_detail"]]
        for task, r in report["per_task"].items()
    }


def _eval_cli(bundle, output, *extra: str) -> list[str]:
    return [sys.executable, "-m", "librobot.cli", "eval", "--policy", str(bundle), "--output", str(output), *extra]


def test_a_killed_evaluation_resumes_to_the_report_of_one_run(tiny_bundle, tmp_path):
    whole = evaluate(tiny_bundle, tmp_path / "whole", episodes=3, overrides=SETTINGS, record_in_bundle=False)
    out = tmp_path / "killed"
    first = out / "tasks" / f"{TASKS[0]}.json"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    run = subprocess.Popen(_eval_cli(tiny_bundle, out, *CLI_SETTINGS), env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not first.is_file() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)  # as a preempted job or an OOM kill: no clean-up runs
    _, stderr = run.communicate()
    assert first.is_file(), stderr[-2000:]
    assert not (out / "report.json").exists()  # killed before the second task ended
    kept = first.read_text()

    done = subprocess.run(
        _eval_cli(tiny_bundle, out, *CLI_SETTINGS, "--resume"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    resumed = json.loads((out / "report.json").read_text())
    assert resumed["resumed_tasks"] == [TASKS[0]]  # read back, not rolled out again
    assert first.read_text() == kept
    assert list(resumed["per_task"]) == list(TASKS)
    assert _episodes(resumed) == _episodes(whole)
    assert (resumed["successes"], resumed["episodes"]) == (whole["successes"], whole["episodes"])


def test_resume_refuses_records_made_with_other_settings(tiny_bundle, tmp_path):
    evaluate(tiny_bundle, tmp_path / "eval", episodes=2, overrides=SETTINGS, record_in_bundle=False)
    records = {p.name: p.read_text() for p in (tmp_path / "eval" / "tasks").iterdir()}
    assert sorted(records) == sorted(f"{t}.json" for t in TASKS)
    with pytest.raises(
        ValueError,
        match=r"--resume: .*tasks/.*\.json was rolled out with other settings: "
        r"episodes_per_task 2 \(now 3\)",
    ):
        evaluate(tiny_bundle, tmp_path / "eval", episodes=3, overrides=SETTINGS, record_in_bundle=False, resume=True)
    with pytest.raises(ValueError, match=r"seed 1000 \(now 2000\)"):
        evaluate(
            tiny_bundle,
            tmp_path / "eval",
            episodes=2,
            overrides={**SETTINGS, "seed": 2000},
            record_in_bundle=False,
            resume=True,
        )
    assert {p.name: p.read_text() for p in (tmp_path / "eval" / "tasks").iterdir()} == records  # nothing lost


def test_resume_refuses_a_record_that_is_not_one(tiny_bundle, tmp_path):
    (tmp_path / "eval" / "tasks").mkdir(parents=True)
    (tmp_path / "eval" / "tasks" / f"{TASKS[0]}.json").write_text('{"task": "reach-v3"')
    with pytest.raises(ValueError, match=r"reach-v3\.json: not a task record of `librobot eval`"):
        evaluate(tiny_bundle, tmp_path / "eval", episodes=1, overrides=SETTINGS, record_in_bundle=False, resume=True)


def test_without_resume_earlier_records_are_replaced(tiny_bundle, tmp_path):
    evaluate(tiny_bundle, tmp_path / "eval", episodes=2, overrides=SETTINGS, record_in_bundle=False)
    again = evaluate(tiny_bundle, tmp_path / "eval", episodes=1, overrides=SETTINGS, record_in_bundle=False)
    assert again["episodes"] == len(TASKS) and again["resumed_tasks"] == []
    for task in TASKS:
        record = json.loads((tmp_path / "eval" / "tasks" / f"{task}.json").read_text())
        assert len(record["episodes"]) == 1 and record["settings"]["episodes_per_task"] == 1


def test_workers_report_each_episode_as_it_ends(tiny_bundle, tmp_path):
    info = load_bundle(tiny_bundle, with_model=False)
    cfg = eval_config(info.cfg, {**SETTINGS, "episodes_per_task": 3, "workers": 2})
    env_name, jobs = env_jobs(cfg, info.metadata)
    episodes: list[tuple[str, bool]] = []
    tasks_done: list[int] = []
    results = roll_out_in_workers(
        tiny_bundle,
        cfg,
        env_name,
        jobs,
        tmp_path,
        on_task=lambda i, r: tasks_done.append(i),
        on_episode=lambda task, success: episodes.append((task, success)),
    )
    assert sorted(tasks_done) == list(range(len(jobs)))
    for result in results:  # every episode reported once, with its outcome, in seed order within a task
        assert [s for t, s in episodes if t == result.task] == [e["success"] for e in result.episodes]
    assert len(episodes) == 3 * len(jobs)
