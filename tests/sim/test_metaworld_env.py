"""MetaWorld env: the env contract, reproducibility from the seed, and a tiny recording."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def env():
    from librobot.sim import make_env

    e = make_env("metaworld", task="reach-v3", image_size=64, max_steps=60)
    yield e
    e.close()


def test_follows_env_contract(env):
    obs = env.reset(seed=3)
    assert env.robot.state_dim == 39 and env.robot.action_dim == 4
    assert env.camera_names == ["corner"] and env.task == "reach-v3"
    assert env.instruction == "reach the red goal position" == obs["instruction"]
    img = obs["images"]["corner"]
    assert img.dtype == np.uint8 and img.shape == (64, 64, 3)
    assert obs["state"].dtype == np.float64 and obs["state"].shape == (39,)
    obs2, reward, terminated, truncated, info = env.step(env.expert()(obs))
    assert isinstance(reward, float) and isinstance(info["success"], bool)
    with pytest.raises(ValueError, match="action has 3 values"):
        env.step(np.zeros(3))


def test_reach_expert_puts_the_fingertips_on_the_goal_not_the_hand(env):
    """MetaWorld scores reach by the fingertip centre (4.5 cm below the hand the state reports); its own
    expert parks the hand on the goal, 4.5 cm from a 5 cm threshold. Ours must end on the goal."""
    for seed in (0, 5):
        obs = env.reset(seed=seed)
        expert = env.expert()
        for _ in range(60):
            obs, _, _, _, info = env.step(expert(obs))
        # metres, fingertips to goal, still closing in after 60 steps; MetaWorld's expert converges to 0.045
        assert info["success"] and info["obj_to_target"] < 0.03
        hand, goal = obs["state"][:3], obs["state"][-3:]
        assert hand[2] - goal[2] > 0.02  # the hand stops above the goal, the fingertips on it


def test_same_seed_same_episode_start_different_seed_differs(env):
    a = env.reset(seed=11)
    b = env.reset(seed=11)
    c = env.reset(seed=12)
    np.testing.assert_array_equal(a["state"], b["state"])
    np.testing.assert_array_equal(a["images"]["corner"], b["images"]["corner"])
    assert not np.allclose(a["state"][-3:], c["state"][-3:])  # goal placement follows the seed


def test_an_episodes_first_frame_draws_the_goal_where_the_episode_put_it(env):
    # MetaWorld's reset moves the goal site after its last kinematics pass: without a fresh pass the
    # first frame drew reach's red goal 13-20 cm away, where the previous episode had it
    import mujoco

    for seed in (21, 22):
        obs = env.reset(seed=seed)
        mujoco.mj_forward(env._env.model, env._env.data)  # the scene's kinematics as reset left it
        np.testing.assert_array_equal(obs["images"]["corner"], env._render("corner"))


def test_image_is_right_way_up(env):
    # the corner camera is mounted upside down in MetaWorld: after the flip the table (brown, bottom)
    # lies below the grey backdrop (top rows)
    img = env.reset(seed=0)["images"]["corner"].astype(float)
    top, bottom = img[:8].mean((0, 1)), img[-20:].mean((0, 1))
    assert abs(top[0] - top[2]) < 20  # grey: channels alike
    assert bottom[0] - bottom[2] > 10  # wood/arm: red dominates


def test_several_cameras_render_each_view_and_unknown_ones_are_named():
    from librobot.sim import make_env

    e = make_env("metaworld", task="push-v3", image_size=32, cameras="corner,gripperPOV")
    try:
        obs = e.reset(seed=3)
        assert e.camera_names == ["corner", "gripperPOV"] == [c.name for c in e.robot.cameras]
        corner, wrist = obs["images"]["corner"], obs["images"]["gripperPOV"]
        assert corner.shape == wrist.shape == (32, 32, 3)
        assert np.abs(corner.astype(int) - wrist.astype(int)).mean() > 20  # two views, not one image twice
        obs = e.step(np.array([1.0, 0.0, 0.0, 0.0]))[0]
        assert not np.array_equal(obs["images"]["gripperPOV"], wrist)  # the wrist camera moves with the hand
    finally:
        e.close()
    with pytest.raises(ValueError, match=r"cameras: MetaWorld renders .*'gripperPOV'.*got \['wrist'\]"):
        make_env("metaworld", task="push-v3", cameras=["wrist"])


def test_task_sets_and_instructions():
    from librobot.sim.metaworld_env import MT10, expand_tasks, instruction_for

    assert expand_tasks("mt10") == list(MT10) and len(MT10) == 10
    mt50 = expand_tasks("mt50")
    assert len(set(mt50)) == 50 and set(MT10) <= set(mt50)
    assert expand_tasks("reach-v3, push-v3") == ["reach-v3", "push-v3"]
    assert instruction_for("basketball-v3") == "basketball task"


def test_mt50_list_then_render_without_mujoco_gl_set():
    """`data generate --tasks mt50` reads MetaWorld's list (importing mujoco) before it makes an env: still headless."""
    import subprocess
    import sys

    code = (
        "from librobot.sim.metaworld_env import MetaWorldEnv, expand_tasks\n"
        "assert len(expand_tasks('mt50')) == 50\n"
        "env = MetaWorldEnv('reach-v3', image_size=16)\n"
        "assert env.reset(0)['images']['corner'].shape == (16, 16, 3)\n"
        "env.close()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_tiny_recording_keeps_successful_episodes(tmp_path):
    from librobot.data.lerobot_v3 import LeRobotV3Reader
    from librobot.sim.record import RecordJob, record_dataset

    result = record_dataset(
        tmp_path / "mw",
        [RecordJob("metaworld", {"task": "reach-v3", "image_size": 64, "max_steps": 80})],
        episodes=1,
        progress=False,
    )
    reader = LeRobotV3Reader(result.path)
    assert reader.num_episodes == 1 and reader.tasks == ["reach the red goal position"]
    data = reader.episode_data(0)
    assert bool(data["next.success"][-1]) and not data["next.success"][:-1].any()
    assert reader.decode_episode(0, "corner").shape == (len(data["index"]), 64, 64, 3)
    prov = reader.librobot
    assert prov["env"] == "metaworld" and prov["env_kwargs"]["task"] == "reach-v3"
    assert prov["robot"]["name"] == "metaworld_sawyer" and reader.episodes[0]["librobot/seed"] == 0
    # replaying the stored seed gives the recorded first state
    from librobot.sim import make_env

    env = make_env("metaworld", **prov["env_kwargs"])
    try:
        np.testing.assert_allclose(env.reset(seed=0)["state"], data["observation.state"][0], rtol=1e-6, atol=1e-6)
    finally:
        env.close()


def test_failed_episodes_are_dropped_and_reported(tmp_path):
    from librobot.sim.record import RecordingError, RecordJob, record_dataset

    job = RecordJob("metaworld", {"task": "push-v3", "image_size": 32, "max_steps": 3})  # too short to succeed
    with pytest.raises(RecordingError, match="only 0 of 1 episodes succeeded in 2 attempts"):
        record_dataset(tmp_path / "mw", [job], episodes=1, max_attempts=2, progress=False)
