"""Helpers for the data tests: a tiny dataset written with the real writer (PyAV video, parquet)."""

from __future__ import annotations

import numpy as np

STATE_NAMES = ["x", "y", "grip"]
ACTION_NAMES = ["dx", "dy"]
LENGTHS = (6, 9, 4)
FPS = 10


def smooth_frames(length: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Gradients that move over time: compress well, so codec error stays small and testable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for t in range(length):
        phase = t / max(length, 1) + rng.uniform(0, 0.01)
        r = 128 + 100 * np.sin(2 * np.pi * (xx + phase))
        g = 128 + 100 * np.cos(2 * np.pi * (yy - phase))
        b = 60 + 120 * xx * yy
        out.append(np.stack([r, g, b], -1))
    return np.clip(np.stack(out), 0, 255).astype(np.uint8)


def episode_arrays(ep: int, length: int) -> dict[str, np.ndarray]:
    t = np.arange(length, dtype=np.float64)
    state = np.stack([t + 100 * ep, -t, np.full(length, ep)], 1) + 0.25
    action = np.stack([t * 0.5 + ep, 10 * ep - t], 1)
    return {"observation.state": state, "action": action}


def write_tiny(root, codec: str = "auto", lengths=LENGTHS, **kwargs):
    from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec

    with LeRobotV3Writer(
        root,
        fps=FPS,
        features={"observation.state": feature_spec(STATE_NAMES), "action": feature_spec(ACTION_NAMES)},
        cameras={"front": (32, 32)},
        robot_type="toy",
        librobot={"env": "toy", "env_kwargs": {"k": 1}},
        codec=codec,
        **kwargs,
    ) as writer:
        for ep, n in enumerate(lengths):
            writer.add_episode(
                ["pick the cube", "push the cube"][ep % 2], episode_arrays(ep, n), {"front": smooth_frames(n, seed=ep)}
            )
    return root


def write_noisy(root, lengths=(40, 40, 40), size: int = 64):
    """Like ``write_tiny`` but with noise frames, which do not compress: an mp4 of a few hundred KB, big
    enough to damage 64 KB in its middle and leave whole episodes on either side."""
    from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec

    rng = np.random.default_rng(0)
    with LeRobotV3Writer(
        root,
        fps=FPS,
        features={"observation.state": feature_spec(STATE_NAMES), "action": feature_spec(ACTION_NAMES)},
        cameras={"front": (size, size)},
        robot_type="toy",
    ) as writer:
        for ep, n in enumerate(lengths):
            frames = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
            writer.add_episode("pick the cube", episode_arrays(ep, n), {"front": frames})
    return root
