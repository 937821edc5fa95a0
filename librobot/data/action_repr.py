"""Action representations a policy can train on, and their stats.

absolute: a_t as recorded. delta: a_t - a_{t-1} within the episode (0 at the first frame).
relative: a_{t+k} - s_t[:Da], every action of a chunk relative to the state the chunk starts from
(joint-position robots whose first state values are the commanded positions). Stats are computed
on the representation the policy trains on, over every (frame, chunk offset) pair it will see.
"""

from __future__ import annotations

import numpy as np

from librobot.choices import ActionRepresentation
from librobot.data.stats import RunningStats


def check_representation(name: str, state_dim: int, action_dim: int) -> None:
    ActionRepresentation.parse(name, "action_representation")
    if name == "relative" and state_dim < action_dim:
        raise ValueError(
            f"action_representation 'relative' subtracts the first {action_dim} state values, "
            f"but the state has only {state_dim}"
        )


def episode_delta(actions: np.ndarray) -> np.ndarray:
    """delta representation of one episode's actions [T, Da]."""
    out = np.zeros_like(actions)
    out[1:] = actions[1:] - actions[:-1]
    return out


def to_relative(chunk: np.ndarray, state: np.ndarray) -> np.ndarray:
    """chunk [H, Da] (or [B, H, Da]) relative to the current state [Ds] (or [B, Ds])."""
    da = chunk.shape[-1]
    return chunk - state[..., None, :da]


def from_relative(chunk: np.ndarray, state: np.ndarray) -> np.ndarray:
    da = chunk.shape[-1]
    return chunk + state[..., None, :da]


def representation_stats(episodes, representation: str, horizon: int) -> dict[str, np.ndarray]:
    """Stats of the trained action representation; ``episodes`` yields (state [T, Ds], action [T, Da])."""
    acc = RunningStats()
    for state, actions in episodes:
        if representation == "absolute":
            acc.update(actions)
        elif representation == "delta":
            acc.update(episode_delta(actions))
        else:
            # every chunk offset k: a_{t+k} - s_t for t + k inside the episode (padding is masked out)
            for k in range(min(horizon, len(actions))):
                acc.update(to_relative(actions[k:][:, None, :], state[: len(actions) - k])[:, 0])
    return acc.result()
