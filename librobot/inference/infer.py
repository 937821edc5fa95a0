"""What ``librobot infer`` does: a policy on a few observations, with the chunks and the latency."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from librobot.bundle import load_bundle
from librobot.inference.policy import Policy
from librobot.inference.samples import recorded_observations


def load_npz_observation(path: str | Path) -> dict[str, Any]:
    """``state``, ``instruction`` and ``image_<camera>`` arrays -> a raw observation (no pickle)."""
    with np.load(path, allow_pickle=False) as data:
        images = {key[len("image_") :]: data[key] for key in data.files if key.startswith("image_")}
        if "state" not in data.files:
            raise ValueError(f"{path} has no 'state' array; it has {data.files}")
        instruction = str(data["instruction"]) if "instruction" in data.files else ""
        return {"images": images, "state": data["state"], "instruction": instruction}


def run_inference(bundle: str | Path, runtime: str, observation: str | Path | None, count: int, seed: int) -> dict:
    policy = Policy.from_bundle(bundle, runtime=runtime)
    if observation is not None:
        observations = [load_npz_observation(observation)]
    else:
        recorded = recorded_observations(load_bundle(bundle, with_model=False), count, seed=seed)
        cams = policy.spec.cameras
        observations = [
            {
                "images": {cam: np.moveaxis(recorded.images[i, c], 0, -1) for c, cam in enumerate(cams)},
                "state": recorded.state[i],
                "instruction": recorded.instructions[i],
            }
            for i in range(len(recorded))
        ]
    results = []
    for obs in observations:
        started = time.perf_counter()
        chunk = policy.act(obs, seed=seed)
        results.append(
            {
                "instruction": obs["instruction"],
                "latency_ms": round(1000 * (time.perf_counter() - started), 3),
                "actions": chunk.round(6).tolist(),
            }
        )
    return {"runtime": runtime, "action_names": policy.robot.action_names, "results": results}
