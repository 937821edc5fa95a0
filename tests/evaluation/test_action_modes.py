"""Closed-loop execution modes: receding-horizon chunks, and ACT's temporal ensembling (a chunk every step)."""

from __future__ import annotations

import math

import pytest

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
