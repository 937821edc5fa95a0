"""The policy behind the service, rebuilt from a packaged BentoML model: ONNX Runtime + numpy only.

Everything comes from the model's metadata (robot, normalizer, cameras, image shape, chunk
settings) and its files (ONNX graph, tokenizer). The service is stateless: an observation carries
its whole state history, or one step that is padded by repetition as at an episode's start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from librobot.inference.observation import CheckedObservation
from librobot.inference.policy import ONNX_FILES, TOKENIZER_DIR, Policy
from librobot.serving.package import NORMALIZATION_KEYS


def load_served_policy(model_path: str | Path, metadata: Mapping[str, Any], runtime: str | None = None) -> Policy:
    """``runtime``: ``onnx``, ``onnx-int8``, ...; default ``$LIBROBOT_RUNTIME``, else the packaged default."""
    from librobot.inference.runtime import OrtRuntime

    runtime = runtime or os.environ.get("LIBROBOT_RUNTIME") or metadata["runtime"]
    available = list(metadata.get("runtimes") or [metadata["runtime"]])
    if runtime not in available:
        raise ValueError(f"LIBROBOT_RUNTIME={runtime!r} is not in this model; it holds {', '.join(available)}")
    threads = int(os.environ["LIBROBOT_ORT_THREADS"]) if os.environ.get("LIBROBOT_ORT_THREADS") else None
    path = Path(model_path)
    engine = OrtRuntime(path / ONNX_FILES[runtime], path / TOKENIZER_DIR, threads=threads)
    engine.name = runtime
    return Policy(engine, {key: metadata[key] for key in NORMALIZATION_KEYS if key in metadata})


def act_batch(policy: Policy, observations: Sequence[CheckedObservation], seeds: Sequence[int | None]) -> np.ndarray:
    """One runtime call for many single observations; each gets its own seeded noise. -> [N, H, Da]."""
    horizon = policy.spec.obs_horizon
    states = [o.state if o.has_history else np.repeat(o.state, horizon, axis=1) for o in observations]
    images = np.concatenate([o.images for o in observations])
    state = np.concatenate(states)
    instructions = [text for o in observations for text in o.instructions]
    noise = None
    if policy.runtime.samples():
        noise = np.concatenate([policy.noise(len(o.images), seed) for o, seed in zip(observations, seeds, strict=True)])
    normalized = policy.predict_normalized(images, policy.normalize_state(state), instructions, noise=noise)
    return policy.postprocess(normalized, state[:, -1])
