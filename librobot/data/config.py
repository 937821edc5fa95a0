"""The ``data`` section of an experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# decoded-episode cache per DataLoader worker, in MB: a cap, filled only as far as the dataset needs
DEFAULT_CACHE_MB = 2048.0


@dataclass
class DataConfig:
    path: str = "data/default"  # a LeRobot v3 dataset root
    cameras: list[str] | None = None  # None: every camera the dataset has, in its order
    action_horizon: int = 16  # H: actions per chunk the policy predicts
    obs_horizon: int = 1  # observation steps the policy sees (state history)
    val_fraction: float = 0.1  # share of episodes held out, split by episode
    split_seed: int = 0
    num_workers: int = 0
    cache_mb: float = DEFAULT_CACHE_MB
    # normalization mode per feature: MEAN_STD, MIN_MAX, QUANTILES or IDENTITY
    normalization: dict[str, str] = field(
        default_factory=lambda: {"observation.state": "MEAN_STD", "action": "QUANTILES"}
    )
    action_representation: str = "absolute"  # absolute | delta (a_t - a_{t-1}) | relative (a_t - state)
    transforms: list[dict[str, Any]] = field(default_factory=list)  # registered transforms, in order
    # dimensions the policy uses: null (all), a list of dataset names, or {robot_name: dataset_name}
    # (librobot/data/feature_selection.py); e.g. proprioception only, or a dataset named differently
    state_features: Any = None
    action_features: Any = None
