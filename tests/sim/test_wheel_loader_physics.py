"""Actuator sign conventions, braking and the engine of the simulated wheel loader."""

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

from librobot.sim.wheel_loader import WheelLoaderEnv  # noqa: E402

THROTTLE, STEER, BOOM, BUCKET, BRAKE, GEAR = range(6)


@pytest.fixture(scope="module")
def env():
    return WheelLoaderEnv(render=False)


def act(**kw) -> np.ndarray:
    a = np.zeros(6)
    for name, value in kw.items():
        a[["throttle", "steering", "boom", "bucket", "brake", "gear"].index(name)] = value
    return a


def run(env, action, steps):
    for _ in range(steps):
        obs, *_ = env.step(action)
    return obs["state"]


def forward_distance(env, start, end):
    yaw = start[5]
    return float(np.dot(end[:2] - start[:2], [np.cos(yaw), np.sin(yaw)]))


def test_throttle_in_forward_gear_moves_forward_and_reverse_moves_back(env):
    s0 = env.reset(seed=0)["state"]
    s1 = run(env, act(throttle=1.0, gear=1.0), 20)
    assert forward_distance(env, s0, s1) > 3.0 and s1[6] > 2.0  # vx in the body frame
    assert s1[21] > 0 and s1[18] > 1800  # wheels forward, engine near its rated speed
    s0 = env.reset(seed=0)["state"]
    s1 = run(env, act(throttle=1.0, gear=-1.0), 20)
    assert forward_distance(env, s0, s1) < -3.0 and s1[6] < -2.0 and s1[21] < 0


def test_neutral_gear_does_not_drive(env):
    s0 = env.reset(seed=0)["state"]
    s1 = run(env, act(throttle=1.0, gear=0.0), 20)
    assert abs(forward_distance(env, s0, s1)) < 0.05
    assert s1[18] > 1900  # the engine revs freely


def test_top_speed_matches_the_driveline(env):
    env.reset(seed=0)
    s = run(env, act(throttle=1.0, gear=1.0), 40)
    assert 3.0 < s[6] < 3.5


def test_steering_boom_and_bucket_signs(env):
    s0 = env.reset(seed=0)["state"]
    s1 = run(env, act(steering=1.0, boom=1.0, bucket=1.0), 5)
    assert s1[12] > s0[12] + 0.15  # + steering: front frame swings left (artic angle up)
    assert s1[13] > s0[13] + 0.1  # + boom raises
    assert s1[14] > s0[14] + 0.2  # + bucket curls
    s2 = run(env, act(steering=-1.0, boom=-1.0, bucket=-1.0), 5)
    assert s2[12] < s1[12] - 0.1 and s2[13] < s1[13] - 0.1 and s2[14] < s1[14] - 0.2
    s3 = run(env, act(), 10)  # zero rates: the hydraulics settle on their command and hold it
    s4 = run(env, act(), 20)
    np.testing.assert_allclose(s4[12:15], s3[12:15], atol=0.005)


def test_positive_steering_turns_left_when_driving(env):
    env.reset(seed=0)
    s0 = run(env, act(steering=1.0), 15)
    s1 = run(env, act(throttle=0.5, gear=1.0), 20)
    assert s1[5] > s0[5] + 0.5  # yaw grows: the machine turns left


def test_braking_stops_the_machine(env):
    env.reset(seed=0)
    s = run(env, act(throttle=1.0, gear=1.0), 30)
    assert s[6] > 3.0
    s = run(env, act(brake=1.0, gear=1.0), 20)
    assert abs(s[6]) < 0.05 and abs(s[21]) < 0.05
    # full brake also declutches: throttle cannot push the machine through it
    s_before = s
    s = run(env, act(throttle=1.0, brake=1.0, gear=1.0), 20)
    assert np.hypot(*(s[:2] - s_before[:2])) < 0.05


def test_machine_rests_level_on_its_tyres(env):
    s = env.reset(seed=3)["state"]
    assert abs(s[2] - 0.7) < 0.02 and abs(s[3]) < 0.01 and abs(s[4]) < 0.01
    s = run(env, act(), 20)
    assert np.abs(s[6:12]).max() < 1e-2
