"""The policy behind the service, rebuilt from a packaged BentoML model: ONNX Runtime + numpy only.

Everything comes from the model's metadata (robot, normalizer, cameras, image shape, chunk
settings) and its files (ONNX graph, tokenizer). The service is stateless: an observation carries
its whole state history, or one step that is padded by repetition as at an episode's start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from librobot.inference.observation import CheckedObservation, ObservationError
from librobot.inference.policy import ONNX_FILES, TOKENIZER_DIR, Policy
from librobot.inference.runtime import OrtRuntime
from librobot.policy_spec import PolicySpec

# a normalized state this large is a broken sensor or a hostile client, never a robot the policy has
# seen; refusing it keeps the graph's float32 arithmetic finite (3.4e38 gave NaN actions under ORT fp32)
MAX_NORMALIZED_STATE = 1e6


def load_served_policy(model_path: str | Path, metadata: Mapping[str, Any], runtime: str | None = None) -> Policy:
    """``runtime``: ``onnx``, ``onnx-int8``, ...; default ``$LIBROBOT_RUNTIME``, else the packaged default."""
    runtime = runtime or os.environ.get("LIBROBOT_RUNTIME") or metadata["runtime"]
    available = list(metadata.get("runtimes") or [metadata["runtime"]])
    if runtime not in available:
        raise ValueError(f"LIBROBOT_RUNTIME={runtime!r} is not in this model; it holds {', '.join(available)}")
    threads = int(os.environ["LIBROBOT_ORT_THREADS"]) if os.environ.get("LIBROBOT_ORT_THREADS") else None
    path = Path(model_path)
    engine = OrtRuntime(path / ONNX_FILES[runtime], path / TOKENIZER_DIR, threads=threads)
    engine.name = runtime
    return Policy(engine, PolicySpec.from_served(metadata))


@dataclass(frozen=True)
class PreparedObservation:
    """One robot's model inputs, ready to join a batch: nothing left that could fail per item."""

    images: np.ndarray  # uint8 [1, n_cam, 3, H, W]
    state: np.ndarray  # float64 [1, T, Ds], robot units (postprocessing needs the current raw state)
    normalized_state: np.ndarray  # float32 [1, T, Ds]
    instruction: str
    noise: np.ndarray | None  # float32 [1, H, Da] for sampling heads


def prepare(policy: Policy, obs: CheckedObservation, seed: int | None) -> PreparedObservation:
    """Everything per observation that can fail on its input, done before it joins a batch."""
    if obs.batched or len(obs.images) != 1:
        raise ObservationError(f"one observation is one robot; this one holds {len(obs.images)}")
    state = obs.state if obs.has_history else np.repeat(obs.state, policy.spec.obs_horizon, axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        normalized = policy.normalize_state(state)
    absurd = ~(np.abs(normalized) <= MAX_NORMALIZED_STATE)  # also catches inf and NaN
    if absurd.any():
        _, step, dim = (int(i) for i in np.argwhere(absurd)[0])
        raise ObservationError(
            f"observation.state feature {policy.robot.state_names[dim]!r} = {state[0, step, dim]:.4g} is "
            f"{float(normalized[0, step, dim]):.3g} in normalized units; the service refuses |x| > "
            f"{MAX_NORMALIZED_STATE:.0e} there (no sensor is that far outside the training data, and float32 "
            "model arithmetic would overflow to NaN)"
        )
    return PreparedObservation(obs.images, state, normalized, obs.instructions[0], policy.noise(1, seed))


def run_prepared(policy: Policy, items: Sequence[PreparedObservation]) -> np.ndarray:
    """One runtime call for many prepared observations -> ``[N, H, Da]`` in robot units, clipped.

    Non-finite model outputs stay non-finite (clipping would turn inf into a bound): the caller
    refuses them per observation.
    """
    images = np.concatenate([o.images for o in items])
    normalized_state = np.concatenate([o.normalized_state for o in items])
    noise = None if items[0].noise is None else np.concatenate([o.noise for o in items])
    normalized = np.asarray(
        policy.predict_normalized(images, normalized_state, [o.instruction for o in items], noise=noise)
    )
    state = np.concatenate([o.state for o in items])
    actions = policy.postprocess(normalized, state[:, -1])
    broken = ~np.isfinite(normalized).all(axis=(1, 2))
    if broken.any():
        actions = actions.copy()
        actions[broken] = np.nan
    return actions
