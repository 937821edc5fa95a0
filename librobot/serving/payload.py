"""Request and response bodies of the policy service, checked per request before batching.

An image travels either as base64 of its raw uint8 bytes (``H*W*3``, row-major HWC: compact) or as
nested integer lists of exactly ``[H, W, 3]``. Validation runs in pydantic on each request alone,
before the service's batcher joins requests, so one bad request gets its 400 and never reaches the
model. Every value that the model call could choke on is bounded here: one observation is one
robot (no smuggled batch), seeds fit numpy's generator, instructions have a length cap, states are
finite in float32.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from librobot.inference.observation import CheckedObservation, ObservationError, ObservationSpec, check_observation

MAX_OBSERVATIONS_PER_REQUEST = 64
MAX_INSTRUCTION_CHARS = 1000
MAX_SEED = 2**32 - 1
_SPEC: ObservationSpec | None = None  # set once by the service from its model's metadata


def set_spec(spec: ObservationSpec) -> None:
    global _SPEC
    _SPEC = spec


def decode_image(camera: str, value: Any, spec: ObservationSpec) -> np.ndarray:
    field = f"observation.images[{camera!r}]"
    h, w = spec.image_hw
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ObservationError(f"{field} is a string but not valid base64 of raw uint8 [H, W, 3] bytes") from None
        return raw_image(field, raw, spec, "decodes to")
    try:
        arr = np.asarray(value)
    except ValueError:
        raise ObservationError(f"{field} is a ragged nested list; expected uint8 [{h}, {w}, 3]") from None
    if arr.shape != (h, w, 3):
        # one observation is one robot: a 4-D list would smuggle a batch into one row of the service's batch
        raise ObservationError(f"{field} has shape {list(arr.shape)}; one observation is one image [{h}, {w}, 3]")
    if arr.dtype.kind not in "iu":
        raise ObservationError(f"{field} holds {arr.dtype} values; expected integers 0..255 (uint8 [{h}, {w}, 3])")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ObservationError(f"{field} has values in [{arr.min()}, {arr.max()}]; expected 0..255")
    return arr.astype(np.uint8)


def raw_image(field: str, raw: bytes, spec: ObservationSpec, verb: str = "has") -> np.ndarray:
    """Raw uint8 ``H*W*3`` bytes (row-major HWC) -> ``[H, W, 3]``; the HTTP and gRPC front ends share it."""
    h, w = spec.image_hw
    if len(raw) != h * w * 3:
        raise ObservationError(
            f"{field} {verb} {len(raw)} bytes; the bundle expects {h}*{w}*3 = {h * w * 3} (uint8 [{h}, {w}, 3])"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)


class Observation(BaseModel):
    """One raw observation in robot units (see docs/serving.md)."""

    model_config = ConfigDict(extra="forbid")

    images: dict[str, str | list] = Field(description="camera -> base64 of raw uint8 HxWx3 bytes, or nested int lists")
    state: list[float] | list[list[float]] = Field(description="[Ds] or [T, Ds] in robot units")
    instruction: str = Field(default="", max_length=MAX_INSTRUCTION_CHARS)
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="seeds the sampling noise: same seed, same actions"
    )
    _checked: CheckedObservation | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_against_model(self) -> Observation:
        self._checked = self.check()
        return self

    def check(self) -> CheckedObservation:
        if _SPEC is None:
            raise ObservationError("the service has no model loaded")
        if self._checked is not None:
            return self._checked
        # cameras the model was not trained on are ignored, as Policy does
        images = {cam: decode_image(cam, value, _SPEC) for cam, value in self.images.items() if cam in _SPEC.cameras}
        missing = [c for c in _SPEC.cameras if c not in images]
        if missing:
            raise ObservationError(
                f"observation.images is missing camera {', '.join(map(repr, missing))}; "
                f"the model's cameras are {list(_SPEC.cameras)} (got {sorted(self.images)})"
            )
        state = np.asarray(self.state, dtype=np.float64)
        obs = {"images": images, "state": state, "instruction": self.instruction}
        return check_observation(obs, _SPEC, allow_batch=False)


class ActionChunk(BaseModel):
    actions: list[list[float]] = Field(description="[H, Da] in robot units, clipped to the robot's bounds")
