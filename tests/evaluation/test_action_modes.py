"""Closed-loop execution modes: receding-horizon chunks, and ACT's temporal ensembling (a chunk every step)."""

from __future__ import annotations

import json
import math

import pytest

from librobot.cli import main
from librobot.evaluation.rollout import run_episode
from librobot.inference.policy import Policy
from librobot.sim import make_env


@pytest.fixture(scope="module")
def env_and_policy(tiny_bundle):
    env = make_env("metaworld", task="reach-v3", image_size=32)
    yield env, Policy.from_bundle(tiny_bundle, runtime="torch")
    env.close()


def test_chunk_mode_predicts_once_per_executed_part(env_and_policy):
    env, policy = env_and_policy
    ep = run_episode(env, policy, seed=1000, execute_steps=2, max_steps=9)
    assert ep.length == 9 and ep.chunks == math.ceil(9 / 2)


def test_ensemble_mode_predicts_a_chunk_every_step(env_and_policy):
    env, policy = env_and_policy
    ensembled = run_episode(env, policy, seed=1000, execute_steps=2, max_steps=9, action_mode="ensemble")
    assert ensembled.chunks == ensembled.length == 9
    with pytest.raises(ValueError, match="eval.action_mode must be one of chunk, ensemble; got"):
        run_episode(env, policy, seed=1000, execute_steps=2, max_steps=3, action_mode="blend")


def test_eval_cli_runs_and_reports_temporal_ensembling(tiny_bundle, tmp_path):
    out = tmp_path / "ens"
    argv = ["eval", "--policy", str(tiny_bundle), "--output", str(out), "--tasks", "reach-v3", "--episodes", "1"]
    argv += [
        "--max-steps",
        "6",
        "--videos",
        "0",
        "--no-offline",
        "--action-mode",
        "ensemble",
        "--ensemble-decay",
        "0.5",
    ]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["action_mode"], report["ensemble_decay"]) == ("ensemble", 0.5)
    (episode,) = report["per_task"]["reach-v3"]["episodes_detail"]
    assert episode["chunks"] == episode["length"] == 6  # a chunk every step, not one per 8 executed
    assert "temporally ensembled (decay 0.5)" in (out / "report.md").read_text()
    with pytest.raises(SystemExit):  # argparse refuses a mode by name before anything runs
        main(argv[:-4] + ["--action-mode", "blend"])
