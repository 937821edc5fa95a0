"""The scripted expert loads the truck; a random policy never does."""

import os

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

from librobot.sim.wheel_loader import WheelLoaderEnv  # noqa: E402
from librobot.sim.wheel_loader.expert import PHASES  # noqa: E402


def episode(env, policy, seed):
    obs = env.reset(seed=seed)
    phases = []
    low, high = env.robot.bounds("state")
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(policy(obs))
        phases.append(info["phase"])
        outside = (obs["state"] < low - 1e-3) | (obs["state"] > high + 1e-3)
        assert not outside.any(), f"state outside the robot's bounds: {np.array(env.robot.state_names)[outside]}"
        if terminated or truncated:
            return info, phases
    raise AssertionError("episode ran past max_steps without truncation")


def test_expert_succeeds_on_at_least_95_percent_of_seeds():
    env = WheelLoaderEnv(render=False)  # physics only: the expert needs no images
    seeds = range(1000, 1030)
    results = [episode(env, env.expert(), seed)[0] for seed in seeds]
    successes = sum(r["success"] for r in results)
    assert successes >= 0.95 * len(seeds), f"{successes}/{len(seeds)}"
    assert all(r["delivered_kg"] >= 2400 for r in results if r["success"])


def test_expert_walks_through_its_phases_in_order_and_reports_them_in_info():
    env = WheelLoaderEnv(render=False)
    info, phases = episode(env, env.expert(), seed=2)
    assert info["success"]
    seen = list(dict.fromkeys(phases))
    assert seen == ["approach", "penetrate", "curl", "reverse", "to_truck", "dump"]
    assert set(seen) <= set(PHASES)


def test_reused_expert_restarts_on_a_new_episode():
    env = WheelLoaderEnv(render=False)
    expert = env.expert()
    assert episode(env, expert, seed=4)[0]["success"]
    info, phases = episode(env, expert, seed=5)
    assert info["success"] and phases[0] == "approach"


def test_expert_loads_a_second_bucket_when_the_task_asks_for_two():
    env = WheelLoaderEnv(render=False, success_kg=4800.0, max_steps=600)
    for seed in (0, 1):
        info, phases = episode(env, env.expert(), seed)
        assert info["success"] and info["delivered_kg"] >= 4800
        assert phases.count("back_off") > 0 and "approach" in phases[phases.index("back_off") :]


def test_random_policy_never_succeeds():
    env = WheelLoaderEnv(render=False)
    rng = np.random.default_rng(0)
    low, high = env.robot.bounds("action")
    for seed in range(5):
        info, _ = episode(env, lambda obs: rng.uniform(low, high), seed)
        assert not info["success"] and info["delivered_kg"] < 2400
