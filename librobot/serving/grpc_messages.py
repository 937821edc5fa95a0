"""Protobuf messages of ``proto/policy.proto`` <-> numpy, for the gRPC server and the robot client.

Parsing an incoming ``Observation`` applies the HTTP service's limits (``payload.py``: image size
and dtype, instruction length, seed range, observations per request) and its checks
(``check_observation``), so both front ends accept and refuse the same inputs with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from librobot.inference.observation import CheckedObservation, ObservationError, ObservationSpec, check_observation
from librobot.serving.payload import MAX_INSTRUCTION_CHARS, MAX_SEED, raw_image
from librobot.serving.proto import policy_pb2 as pb


def parse_observation(msg: pb.Observation, spec: ObservationSpec) -> tuple[CheckedObservation, int | None]:
    """A wire observation -> (checked observation of one robot, seed); ``ObservationError`` names the field."""
    h, w = spec.image_hw
    images = {}
    for cam in spec.cameras:  # cameras the model was not trained on are ignored, as Policy does
        if cam not in msg.images:
            raise ObservationError(
                f"observation.images is missing camera {cam!r}; the model's cameras are {list(spec.cameras)} "
                f"(got {sorted(msg.images)})"
            )
        image = msg.images[cam]
        field = f"observation.images[{cam!r}]"
        if image.dtype not in ("", "uint8"):
            raise ObservationError(f"{field} has dtype {image.dtype!r}; expected uint8 [{h}, {w}, 3]")
        if list(image.shape) != [h, w, 3]:
            # one observation is one robot: a 4-D shape would smuggle a batch into one row of the batch
            raise ObservationError(f"{field} has shape {list(image.shape)}; one observation is one image [{h}, {w}, 3]")
        images[cam] = raw_image(field, image.data, spec)
    if len(msg.instruction) > MAX_INSTRUCTION_CHARS:
        raise ObservationError(
            f"observation.instruction has {len(msg.instruction)} characters; at most {MAX_INSTRUCTION_CHARS}"
        )
    seed = msg.seed if msg.HasField("seed") else None
    if seed is not None and seed > MAX_SEED:
        raise ObservationError(f"observation.seed is {seed}; expected 0..{MAX_SEED}")
    state = np.asarray(msg.state, dtype=np.float64)
    steps = max(int(msg.state_steps), 1)
    if msg.state_steps > 1:
        if state.size % steps:
            raise ObservationError(
                f"observation.state has {state.size} values, not a multiple of state_steps = {steps} ([T, Ds] row-major)"
            )
        state = state.reshape(steps, -1)
    obs = {"images": images, "state": state, "instruction": msg.instruction}
    return check_observation(obs, spec, allow_batch=False), seed


def observation_message(obs: Mapping[str, Any], seed: int | None = None) -> pb.Observation:
    """A raw observation (``{"images": {cam: uint8 [H, W, 3]}, "state": [Ds] or [T, Ds], "instruction"}``)."""
    state = np.asarray(obs["state"], dtype=np.float64)
    msg = pb.Observation(
        state=state.reshape(-1).tolist(),
        state_steps=state.shape[0] if state.ndim == 2 else 1,
        instruction=str(obs.get("instruction", "")),
    )
    for cam, img in obs["images"].items():
        arr = np.ascontiguousarray(img)
        msg.images[cam].CopyFrom(pb.Image(data=arr.tobytes(), shape=list(arr.shape), dtype=str(arr.dtype)))
    if seed is not None:
        msg.seed = int(seed)
    return msg


def chunk_message(actions: np.ndarray) -> pb.ActionChunk:
    horizon, action_dim = actions.shape
    return pb.ActionChunk(actions=actions.reshape(-1).tolist(), horizon=horizon, action_dim=action_dim)


def chunk_array(msg: pb.ActionChunk) -> np.ndarray:
    """``[H, Da]`` float64 from an ``ActionChunk``; a chunk whose sizes disagree is a broken server."""
    if len(msg.actions) != msg.horizon * msg.action_dim or not msg.horizon:
        raise ValueError(
            f"ActionChunk holds {len(msg.actions)} values for horizon {msg.horizon} x action_dim {msg.action_dim}"
        )
    return np.asarray(msg.actions, dtype=np.float64).reshape(msg.horizon, msg.action_dim)
