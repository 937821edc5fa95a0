"""Recorded observations for export parity and int8 calibration: the bundle's dataset, else its env.

Parity on real observations (not random tensors) matters: quantization error depends on the
activations the policy really sees, and a random image never exercises the VLM like a camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from librobot.inference.observation import ObservationSpec, check_observation
from librobot.sim import make_env


@dataclass
class ObservationBatch:
    images: np.ndarray  # uint8 [N, n_cam, 3, H, W]
    state: np.ndarray  # raw float64 [N, T, Ds]
    instructions: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def slice(self, start: int, stop: int) -> ObservationBatch:
        return ObservationBatch(
            self.images[start:stop], self.state[start:stop], self.instructions[start:stop], self.source
        )


def recorded_observations(bundle: Any, count: int, seed: int = 0) -> ObservationBatch:
    """``count`` observations spread over the bundle's dataset, or recorded in its metadata env."""
    dataset = (bundle.metadata.get("dataset") or {}).get("path")
    if dataset and Path(dataset).is_dir():
        return _from_dataset(bundle, Path(dataset), count, seed)
    env = bundle.metadata.get("env") or {}
    if env.get("name"):
        return _from_env(bundle, env, count, seed)
    raise ValueError(
        f"bundle {bundle.path}: metadata.json names neither an existing dataset.path ({dataset!r}) nor an env "
        "to record observations from; parity and calibration need real observations"
    )


def _from_dataset(bundle: Any, path: Path, count: int, seed: int) -> ObservationBatch:
    # lazy: the dataset pulls torch, and onnx_export (which imports this module) imports torch where it uses it
    from librobot.data.dataset import ChunkedDataset

    source = bundle.spec.state_source  # a selected state (data.state_features)
    ds = ChunkedDataset(
        path,
        split="all",
        cameras=bundle.cameras,
        action_horizon=bundle.action_horizon,
        obs_horizon=bundle.obs_horizon,
        state_features=dict(zip(bundle.robot.state_names, source, strict=True)) if source else None,
    )
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(ds), size=min(count, len(ds)), replace=False))
    samples = [ds[int(i)] for i in picks]
    return ObservationBatch(
        images=np.stack([s["images"].numpy() for s in samples]).astype(np.uint8),
        state=np.stack([s["state"].numpy() for s in samples]).astype(np.float64),
        instructions=[s["instruction"] for s in samples],
        source=f"dataset {path}",
    )


def _from_env(bundle: Any, env_meta: dict[str, Any], count: int, seed: int) -> ObservationBatch:
    import os

    os.environ.setdefault("MUJOCO_GL", "egl")

    spec = ObservationSpec.from_spec(bundle.spec)
    env = make_env(env_meta["name"], **dict(env_meta.get("kwargs") or {}))
    source = bundle.spec.state_source  # a selected state (data.state_features)
    pick = [env.robot.state_names.index(n) for n in source] if source else slice(None)
    images: list[np.ndarray] = []
    states: list[np.ndarray] = []
    texts: list[str] = []
    try:
        episode = 0
        while len(images) < count:
            obs = env.reset(seed=seed + episode)
            expert, history = env.expert(), []
            for _ in range(max(1, env.max_steps // 4)):  # observations along the expert's path
                history.append(np.asarray(obs["state"], dtype=np.float64)[pick])
                checked = check_observation({**obs, "state": history[-1]}, spec)
                pad = [history[0]] * max(0, spec.obs_horizon - len(history))
                images.append(checked.images[0])
                states.append(np.stack(pad + history[-spec.obs_horizon :]))
                texts.append(obs["instruction"])
                obs, _, terminated, truncated, _ = env.step(expert(obs))
                if terminated or truncated or len(images) >= count:
                    break
            episode += 1
    finally:
        env.close()
    return ObservationBatch(np.stack(images), np.stack(states), texts, source=f"env {env_meta['name']}")
