import numpy as np
import pytest

from librobot.inference.observation import ObservationError, ObservationSpec, StateHistory, check_observation
from librobot.robots import load_robot

ROBOT = load_robot("so100_arm")


def spec(obs_horizon=1):
    return ObservationSpec(robot=ROBOT, cameras=("front", "wrist"), image_hw=(8, 8), obs_horizon=obs_horizon)


def obs(**kw):
    o = {
        "images": {"front": np.zeros((8, 8, 3), np.uint8), "wrist": np.ones((8, 8, 3), np.uint8)},
        "state": np.zeros(12),
        "instruction": "pick",
    }
    o.update(kw)
    return o


def test_single_observation_comes_out_in_model_layout():
    checked = check_observation(obs(), spec())
    assert checked.images.shape == (1, 2, 3, 8, 8) and checked.images.dtype == np.uint8
    assert checked.images[0, 1].max() == 1  # cameras in the bundle's order, channels first
    assert checked.state.shape == (1, 1, 12) and checked.instructions == ["pick"] and not checked.batched


def test_batched_observation_keeps_its_batch_and_shares_a_string_instruction():
    images = {c: np.zeros((3, 8, 8, 3), np.uint8) for c in ("front", "wrist")}
    checked = check_observation(obs(images=images, state=np.zeros((3, 12))), spec())
    assert checked.batched and checked.images.shape == (3, 2, 3, 8, 8) and checked.instructions == ["pick"] * 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state": np.zeros(7)}, "observation.state has 7 values; the bundle's robot so100_arm expects 12"),
        ({"images": {"front": np.zeros((8, 8, 3), np.uint8)}}, "observation.images is missing camera 'wrist'"),
        (
            {"images": {"front": np.zeros((8, 8, 3), np.float32), "wrist": np.zeros((8, 8, 3), np.uint8)}},
            r"observation.images\['front'\] has dtype float32; the bundle expects uint8",
        ),
        (
            {"images": {"front": np.zeros((4, 8, 3), np.uint8), "wrist": np.zeros((8, 8, 3), np.uint8)}},
            r"observation.images\['front'\] has shape \(4, 8, 3\); the bundle expects \(8, 8, 3\)",
        ),
        ({"state": np.r_[np.zeros(11), np.nan]}, "observation.state contains NaN or inf .*'gripper.vel'"),
        ({"state": np.r_[np.zeros(11), np.inf]}, "NaN or inf"),
        ({"instruction": 3}, "observation.instruction must be a string"),
        ({"state": np.zeros((3, 12))}, "observation.state has 3 steps; the bundle's obs_horizon is 1"),
    ],
)
def test_mismatched_observations_are_refused_naming_the_field(change, message):
    with pytest.raises(ObservationError, match=message):
        check_observation(obs(**change), spec())


def test_state_history_pads_by_repeating_the_first_step_like_the_dataset():
    history = StateHistory(3)
    s0, s1 = np.full((1, 1, 2), 0.0), np.full((1, 1, 2), 1.0)
    assert history.push(s0)[0, :, 0].tolist() == [0.0, 0.0, 0.0]
    assert history.push(s1)[0, :, 0].tolist() == [0.0, 0.0, 1.0]
    history.push(s1 + 1)
    assert history.push(s1 + 2)[0, :, 0].tolist() == [1.0, 2.0, 3.0]
    history.reset()
    assert history.push(s1)[0, :, 0].tolist() == [1.0, 1.0, 1.0]


def test_full_history_is_accepted_when_obs_horizon_is_above_one():
    checked = check_observation(obs(state=np.zeros((2, 12))), spec(obs_horizon=2))
    assert checked.has_history and checked.state.shape == (1, 2, 12)
    single = check_observation(obs(), spec(obs_horizon=2))
    assert not single.has_history
