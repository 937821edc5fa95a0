"""SO-101 pick-place env: the env contract, its scripted expert, and a tiny recording."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def test_expert_places_the_cube_state_only():
    from librobot.sim import make_env
    from librobot.sim.record import record_episode

    env = make_env("so101_pick_place", cameras=(), max_steps=200)
    try:
        obs = env.reset(seed=1)
        assert obs["state"].shape == (env.robot.state_dim,) == (20,)
        assert obs["images"] == {}
        steps, success = record_episode(env, seed=1)  # seed 1: the controller finishes in ~55 steps
        assert success, "the scripted pick-place controller should place the cube for seed 1"
        assert env.expert().phase == "hover"
    finally:
        env.close()


def test_tiny_recording_with_camera(tmp_path):
    from librobot.data.lerobot_v3 import LeRobotV3Reader
    from librobot.sim.record import RecordJob, record_dataset

    job = RecordJob("so101_pick_place", {"image_size": 64, "max_steps": 6})
    result = record_dataset(tmp_path / "so", [job], episodes=1, keep_failed=True, progress=False)
    assert result.success_rate == {"so101_pick_place": 0.0}  # 6 steps cannot finish: kept, counted failed
    reader = LeRobotV3Reader(result.path)
    assert reader.info["robot_type"] == "so101_sim"
    assert reader.feature_names("action") == ["dx", "dy", "dz", "grasp"]
    frames = reader.decode_episode(0, "front")
    assert frames.shape == (6, 64, 64, 3)
    assert frames.std() > 5  # a rendered scene, not a blank frame
    state = reader.episode_data(0)["observation.state"]
    np.testing.assert_allclose(state[0, -3:], state[-1, -3:])  # the goal does not move
