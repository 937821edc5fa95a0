"""Torch dataset over a LeRobot v3 dataset: raw samples with action chunks (docs/contracts.md).

Random access into video is the slow path, so frames are decoded a whole episode at a time (one
seek, sequential decode, decoders kept open) and decoded episodes are kept in a per-process LRU
cache bounded in MB. Each DataLoader worker holds its own decoders and cache.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from librobot.choices import Split
from librobot.data.action_repr import check_representation, episode_delta, representation_stats, to_relative
from librobot.data.checks import DatasetError, check_dataset
from librobot.data.config import DEFAULT_CACHE_MB
from librobot.data.feature_selection import select_features
from librobot.data.lerobot_v3 import LeRobotV3Reader, camera_name
from librobot.data.normalizer import Normalizer
from librobot.data.transforms import build_transforms
from librobot.logging import get_logger

log = get_logger(__name__)


def split_episodes(num_episodes: int, val_fraction: float, seed: int) -> dict[str, list[int]]:
    """Held-out episodes chosen by a seeded permutation; never frames of one episode on both sides."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(val_fraction * num_episodes))
    if val_fraction > 0 and num_episodes > 1:
        n_val = min(max(n_val, 1), num_episodes - 1)
    order = np.random.default_rng(seed).permutation(num_episodes)
    return {
        "train": sorted(int(e) for e in order[n_val:]),
        "val": sorted(int(e) for e in order[:n_val]),
        "all": list(range(num_episodes)),
    }


class ChunkedDataset(torch.utils.data.Dataset):
    """One sample per frame of the chosen episodes."""

    def __init__(
        self,
        path: str | os.PathLike,
        split: str = "all",
        cameras: Sequence[str] | None = None,
        action_horizon: int = 16,
        obs_horizon: int = 1,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        action_representation: str = "absolute",
        transforms: Sequence[Mapping[str, Any]] = (),
        cache_mb: float = DEFAULT_CACHE_MB,
        load_images: bool = True,
        validate: bool = True,
        state_key: str = "observation.state",
        action_key: str = "action",
        state_features: Any = None,
        action_features: Any = None,
    ):
        Split.parse(split, "split")
        if action_horizon < 1 or obs_horizon < 1:
            raise ValueError(f"action_horizon and obs_horizon must be >= 1, got {action_horizon}, {obs_horizon}")
        if validate:  # refuse bad input up front, with every problem named, instead of mid-training
            problems = check_dataset(path)
            if problems:
                raise DatasetError(problems)
        self.reader = LeRobotV3Reader(path)
        self.path = str(path)
        for key in (state_key, action_key):
            if key not in self.reader.features:
                raise ValueError(f"{path}: dataset has no feature {key!r}; it has {sorted(self.reader.features)}")
        self.state_key, self.action_key = state_key, action_key
        # which dimensions the policy uses, under which names (librobot/data/feature_selection.py)
        self.state_selection = select_features(
            self.reader.feature_names(state_key), state_features, "data.state_features"
        )
        self.action_selection = select_features(
            self.reader.feature_names(action_key), action_features, "data.action_features"
        )
        self.state_names = list(self.state_selection.names)
        self.action_names = list(self.action_selection.names)
        check_representation(action_representation, len(self.state_names), len(self.action_names))
        self.action_representation = action_representation
        known = list(self.reader.cameras)
        self.cameras = [camera_name(c) for c in cameras] if cameras else known
        unknown = [c for c in self.cameras if c not in self.reader.cameras]
        if unknown:
            raise ValueError(
                f"{path}: cameras {unknown} not in the dataset; it has {known} ({self.reader.camera_keys})"
            )
        self.action_horizon, self.obs_horizon = action_horizon, obs_horizon
        self.split = split
        self.episodes = split_episodes(self.reader.num_episodes, val_fraction, split_seed)[split]
        self.load_images = load_images and bool(self.cameras)
        self.cache_bytes = int(cache_mb * 2**20)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        decoded = self.decoded_bytes() if self.load_images else 0
        if decoded > self.cache_bytes:
            # random sampling over more episodes than the cache holds decodes video on most steps
            # (measured: 7 instead of ~100 samples/s on the wheel loader; 16-36 instead of 170-250 on MetaWorld)
            log.warning(
                "%s (%s): the decoded frames of its %d episodes take %d MB, more than data.cache_mb=%g; "
                "training will decode video again and again. Set data.cache_mb=%d if the memory allows",
                path,
                split,
                len(self.episodes),
                -(-decoded // 2**20),
                cache_mb,
                -(-decoded * 11 // 10 // 2**20),
            )
        self._cached = 0

        self.transform = build_transforms(transforms) if transforms else None

        cols = self.reader.columns
        n = len(cols["index"])
        self._state = self.state_selection.take(cols[state_key].reshape(n, -1)).astype(np.float32)
        self._action = self.action_selection.take(cols[action_key].reshape(n, -1)).astype(np.float32)
        if action_representation == "delta":  # per episode, so no delta crosses an episode boundary
            for ep in range(self.reader.num_episodes):
                sl = self.reader.episode_slice(ep)
                self._action[sl] = episode_delta(self._action[sl])
        self._task_index = cols["task_index"].astype(np.int64)
        self._frame_index = cols["frame_index"].astype(np.int64)
        self._global_index = cols["index"].astype(np.int64)
        # one entry per sample: (episode, row of its first frame, episode length, offset in episode)
        rows = []
        for ep in self.episodes:
            sl = self.reader.episode_slice(ep)
            rows.append(
                np.stack(
                    [
                        np.full(sl.stop - sl.start, ep),
                        np.full(sl.stop - sl.start, sl.start),
                        np.full(sl.stop - sl.start, sl.stop - sl.start),
                        np.arange(sl.stop - sl.start),
                    ],
                    1,
                )
            )
        self._items = np.concatenate(rows) if rows else np.zeros((0, 4), np.int64)

    @classmethod
    def from_config(cls, cfg: Any, split: str = "train", **overrides: Any) -> ChunkedDataset:
        """Build from a ``DataConfig``; augmentations apply to the train split only."""
        kwargs = dict(
            path=cfg.path,
            split=split,
            cameras=cfg.cameras,
            action_horizon=cfg.action_horizon,
            obs_horizon=cfg.obs_horizon,
            val_fraction=cfg.val_fraction,
            split_seed=cfg.split_seed,
            action_representation=cfg.action_representation,
            transforms=list(cfg.transforms) if split == "train" else [],
            cache_mb=getattr(cfg, "cache_mb", DEFAULT_CACHE_MB),
            state_features=getattr(cfg, "state_features", None),
            action_features=getattr(cfg, "action_features", None),
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def __len__(self) -> int:
        return len(self._items)

    # -- images -----------------------------------------------------------------------------------
    def decoded_bytes(self) -> int:
        """Bytes of this split's frames once decoded (what the episode cache would hold to keep them all)."""
        frame = sum(int(np.prod(self.reader.features[self.reader.camera_key_of(c)]["shape"])) for c in self.cameras)
        frames = sum(sl.stop - sl.start for sl in map(self.reader.episode_slice, self.episodes))
        return frames * frame

    def episode_images(self, episode: int) -> np.ndarray:
        """uint8 [T, n_cam, 3, H, W] for one episode, from the cache or decoded once."""
        if episode in self._cache:
            self._cache.move_to_end(episode)
            return self._cache[episode]
        frames = np.stack([self.reader.decode_episode(episode, c) for c in self.cameras], axis=1)
        frames = np.ascontiguousarray(frames.transpose(0, 1, 4, 2, 3))
        self._cache[episode] = frames
        self._cached += frames.nbytes
        while self._cached > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.nbytes
        return frames

    # -- samples ----------------------------------------------------------------------------------
    def __getitem__(self, i: int) -> dict[str, Any]:
        ep, start, length, t = (int(v) for v in self._items[i])
        row = start + t
        obs_steps = np.arange(t - self.obs_horizon + 1, t + 1)
        state_is_pad = obs_steps < 0
        state = self._state[start + np.clip(obs_steps, 0, length - 1)]
        act_steps = np.arange(t, t + self.action_horizon)
        action_is_pad = act_steps >= length
        actions = self._action[start + np.clip(act_steps, 0, length - 1)]
        if self.action_representation == "relative":
            actions = to_relative(actions, self._state[row])
        sample: dict[str, Any] = {
            "state": torch.from_numpy(np.ascontiguousarray(state)),
            "state_is_pad": torch.from_numpy(state_is_pad),
            "actions": torch.from_numpy(np.ascontiguousarray(actions, dtype=np.float32)),
            "action_is_pad": torch.from_numpy(action_is_pad),
            "instruction": self.reader.task_of(self._task_index[row]),
            "task_index": torch.tensor(self._task_index[row]),
            "episode_index": torch.tensor(ep, dtype=torch.int64),
            "frame_index": torch.tensor(self._frame_index[row]),
            "index": torch.tensor(self._global_index[row]),
        }
        if self.load_images:
            sample["images"] = torch.from_numpy(self.episode_images(ep)[t].copy())
        if self.transform is not None:
            sample = self.transform(sample)
        return sample

    # -- stats ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, dict[str, np.ndarray]]:
        """Dataset stats, with ``action`` on the representation trained on (recomputed unless absolute)."""
        out = dict(self.reader.stats)
        out[self.state_key] = self.state_selection.take_stats(out[self.state_key])
        out[self.action_key] = self.action_selection.take_stats(out[self.action_key])
        if self.action_representation != "absolute":
            cols = self.reader.columns
            n = len(cols["index"])
            state = self.state_selection.take(cols[self.state_key].reshape(n, -1))
            action = self.action_selection.take(cols[self.action_key].reshape(n, -1))
            eps = (
                (state[self.reader.episode_slice(e)], action[self.reader.episode_slice(e)])
                for e in range(self.reader.num_episodes)
            )
            out[self.action_key] = representation_stats(eps, self.action_representation, self.action_horizon)
        return out

    def normalizer(self, modes: Mapping[str, str]):
        names = {self.state_key: self.state_names, self.action_key: self.action_names}
        return Normalizer.from_stats(self.stats(), modes, names)


def collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack tensors, list strings (the contract's default collate; torch's default does the same)."""
    out: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else list(values)
    return out
