"""Torch dataset: chunking and padding at episode ends, obs horizon, split by episode, workers, transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from librobot.data.dataset import ChunkedDataset, collate, split_episodes
from tests.helpers.data_fixtures import LENGTHS, episode_arrays


def _index_of(ds, episode, frame):
    for i in range(len(ds)):
        if ds._items[i][0] == episode and ds._items[i][3] == frame:
            return i
    raise AssertionError("sample not found")


def test_sample_matches_contract(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset, action_horizon=4, obs_horizon=2)
    s = ds[0]
    assert s["images"].dtype == torch.uint8 and s["images"].shape == (1, 3, 32, 32)
    assert s["state"].dtype == torch.float32 and s["state"].shape == (2, 3)
    assert s["actions"].shape == (4, 2) and s["action_is_pad"].dtype == torch.bool
    assert s["state_is_pad"].tolist() == [True, False]
    assert isinstance(s["instruction"], str)
    for key in ("task_index", "episode_index", "frame_index", "index"):
        assert s[key].dtype == torch.int64
    assert len(ds) == sum(LENGTHS)


def test_action_chunk_is_padded_at_episode_end(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset, action_horizon=5)
    n = LENGTHS[1]
    s = ds[_index_of(ds, 1, n - 2)]  # two real actions left in episode 1
    actions = episode_arrays(1, n)["action"].astype(np.float32)
    assert s["action_is_pad"].tolist() == [False, False, True, True, True]
    np.testing.assert_array_equal(s["actions"][:2].numpy(), actions[n - 2 :])
    # padding repeats the last real action and never leaks the next episode
    np.testing.assert_array_equal(s["actions"][2:].numpy(), np.repeat(actions[-1:], 3, 0))


def test_obs_horizon_pads_by_repeating_first_frame(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset, obs_horizon=3)
    state = episode_arrays(2, LENGTHS[2])["observation.state"].astype(np.float32)
    s = ds[_index_of(ds, 2, 1)]
    assert s["state_is_pad"].tolist() == [True, False, False]
    np.testing.assert_array_equal(s["state"].numpy(), state[[0, 0, 1]])


def test_split_is_by_episode_and_disjoint(tiny_dataset):
    split = split_episodes(10, 0.2, seed=0)
    assert len(split["val"]) == 2 and not set(split["val"]) & set(split["train"])
    assert sorted(split["train"] + split["val"]) == list(range(10))
    assert split_episodes(10, 0.2, seed=0) == split
    train = ChunkedDataset(tiny_dataset, split="train", val_fraction=0.34)
    val = ChunkedDataset(tiny_dataset, split="val", val_fraction=0.34)
    assert {int(s["episode_index"]) for s in val} & {int(s["episode_index"]) for s in train} == set()
    assert len(train) + len(val) == sum(LENGTHS)


def test_images_follow_the_decoded_episode(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset)
    frames = ds.reader.decode_episode(1, "front")
    s = ds[_index_of(ds, 1, 4)]
    np.testing.assert_array_equal(s["images"][0].numpy(), frames[4].transpose(2, 0, 1))


def test_dataloader_with_two_workers_sees_every_sample_once(tiny_dataset):
    ds = ChunkedDataset(tiny_dataset, action_horizon=3)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate, shuffle=True)
    seen = []
    for batch in loader:
        assert batch["images"].shape[1:] == (1, 3, 32, 32)
        assert isinstance(batch["instruction"], list)
        seen += batch["index"].tolist()
    assert sorted(seen) == list(range(sum(LENGTHS)))


def test_registered_transforms_change_images_and_state(tiny_dataset):
    torch.manual_seed(0)
    cfg = [
        {"name": "image_resize", "height": 24, "width": 20},
        {"name": "random_shift", "pad": 2},
        {"name": "color_jitter", "brightness": 0.3},
        {"name": "state_noise", "std": 0.5},
    ]
    plain = ChunkedDataset(tiny_dataset, obs_horizon=2)
    aug = ChunkedDataset(tiny_dataset, obs_horizon=2, transforms=cfg)
    s, a = plain[0], aug[0]
    assert a["images"].shape == (1, 3, 24, 20) and a["images"].dtype == torch.uint8
    assert a["state_is_pad"][0] and torch.equal(a["state"][0], s["state"][0])  # padded frame untouched
    assert not torch.equal(a["state"][1], s["state"][1])
    torch.testing.assert_close(a["actions"], s["actions"])


def test_delta_and_relative_actions_with_stats_on_that_representation(tiny_dataset):
    delta = ChunkedDataset(tiny_dataset, action_horizon=2, action_representation="delta")
    act = episode_arrays(0, LENGTHS[0])["action"]
    s = delta[_index_of(delta, 0, 0)]
    np.testing.assert_allclose(s["actions"].numpy(), [[0, 0], act[1] - act[0]])
    stats = delta.stats()["action"]
    all_delta = np.concatenate(
        [
            np.diff(episode_arrays(e, n)["action"], axis=0, prepend=episode_arrays(e, n)["action"][:1])
            for e, n in enumerate(LENGTHS)
        ]
    )
    np.testing.assert_allclose(stats["mean"], all_delta.mean(0), rtol=1e-9)

    rel = ChunkedDataset(tiny_dataset, action_horizon=2, action_representation="relative")
    state = episode_arrays(0, LENGTHS[0])["observation.state"]
    s = rel[_index_of(rel, 0, 1)]
    np.testing.assert_allclose(s["actions"].numpy(), act[1:3] - state[1, :2], rtol=1e-6)
    norm = rel.normalizer({"observation.state": "MEAN_STD", "action": "QUANTILES"})
    assert norm.names("action") == ["dx", "dy"]
    with pytest.raises(ValueError, match="action_representation"):
        ChunkedDataset(tiny_dataset, action_representation="velocity")


def test_unknown_camera_and_bad_split_are_refused(tiny_dataset):
    with pytest.raises(ValueError, match="cameras \\['wrist'\\] not in the dataset"):
        ChunkedDataset(tiny_dataset, cameras=["wrist"])
    with pytest.raises(ValueError, match="split"):
        ChunkedDataset(tiny_dataset, split="test")


def test_from_config_applies_transforms_to_train_split_only(tiny_dataset):
    from librobot.data.config import DataConfig

    cfg = DataConfig(
        path=str(tiny_dataset),
        action_horizon=3,
        val_fraction=0.34,
        transforms=[{"name": "image_resize", "height": 16, "width": 16}],
    )
    train = ChunkedDataset.from_config(cfg, "train")
    val = ChunkedDataset.from_config(cfg, "val")
    assert train[0]["images"].shape[-2:] == (16, 16) and val[0]["images"].shape[-2:] == (32, 32)
    assert train[0]["actions"].shape == (3, 2)


def test_a_cache_smaller_than_the_decoded_split_is_named_with_the_size_to_set(tiny_dataset, caplog):
    ds = ChunkedDataset(tiny_dataset, action_horizon=4)
    assert ds.decoded_bytes() == sum(LENGTHS) * 32 * 32 * 3  # every frame of the one 32x32 camera
    assert not [r for r in caplog.records if "data.cache_mb" in r.getMessage()]
    ChunkedDataset(tiny_dataset, action_horizon=4, cache_mb=0.001)
    (warning,) = [r.getMessage() for r in caplog.records if "data.cache_mb" in r.getMessage()]
    assert "more than data.cache_mb=0.001" in warning and "Set data.cache_mb=1 " in warning
    caplog.clear()
    ChunkedDataset(tiny_dataset, action_horizon=4, cache_mb=0.001, load_images=False)  # nothing decoded: no warning
    assert not caplog.records
