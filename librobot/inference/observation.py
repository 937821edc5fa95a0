"""Checking raw observations against a bundle, before anything normalizes or predicts.

A raw observation is what a robot (or ``librobot.sim`` env) produces, in robot units::

    {"images": {camera: uint8 [H, W, 3]}, "state": float [Ds] or [T, Ds], "instruction": str}

or batched: images ``[B, H, W, 3]`` per camera, state ``[B, Ds]`` or ``[B, T, Ds]``, instruction a
string (shared) or a list of ``B`` strings. Numpy only: the service runs this without torch.
Errors name the field, what the bundle expects and what came.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from librobot.policy_spec import PolicySpec
from librobot.robots import RobotSpec

FLOAT32_MAX = float(np.finfo(np.float32).max)


class ObservationError(ValueError):
    """An observation that disagrees with the bundle; the message names the field."""


@dataclass(frozen=True)
class ObservationSpec:
    """What a bundle accepts: its robot, cameras (in model order), image size and state history."""

    robot: RobotSpec
    cameras: tuple[str, ...]
    image_hw: tuple[int, int]
    obs_horizon: int

    @classmethod
    def from_spec(cls, spec: PolicySpec) -> ObservationSpec:
        height, width = spec.image_shape[-2:] if spec.image_shape else (0, 0)  # [3, H, W]
        return cls(robot=spec.robot, cameras=spec.cameras, image_hw=(height, width), obs_horizon=spec.obs_horizon)

    @property
    def state_dim(self) -> int:
        return self.robot.state_dim


@dataclass
class CheckedObservation:
    images: np.ndarray  # uint8 [B, n_cam, 3, H, W], cameras in the bundle's order
    state: np.ndarray  # float64 [B, T, Ds] with T the bundle's obs_horizon, or [B, 1, Ds] for a history
    instructions: list[str]
    batched: bool
    has_history: bool  # state carried all obs_horizon steps


def check_observation(obs: Mapping[str, Any], spec: ObservationSpec, allow_batch: bool = True) -> CheckedObservation:
    """Validate ``obs`` against ``spec`` and bring it to model layout (still in robot units).

    ``allow_batch=False`` accepts exactly one robot (images ``[H, W, 3]``, state ``[Ds]`` or
    ``[T, Ds]``): the service counts one observation as one row of its batch, so an observation that
    carried several would take answers meant for other clients.
    """
    if not isinstance(obs, Mapping):
        raise ObservationError(
            f"observation must be a mapping with images, state, instruction; got {type(obs).__name__}"
        )
    for key in ("images", "state"):
        if key not in obs:
            raise ObservationError(f"observation.{key} is missing; an observation has images, state and instruction")
    images, batch = _check_images(obs["images"], spec)
    if batch is not None and not allow_batch:
        h, w = spec.image_hw
        raise ObservationError(
            f"observation.images[{spec.cameras[0]!r}] has shape {obs['images'][spec.cameras[0]].shape}; "
            f"one observation is one robot: each image must be ({h}, {w}, 3)"
        )
    state, has_history = _check_state(obs["state"], spec, batch)
    instructions = _check_instruction(obs.get("instruction", ""), batch if batch is not None else 1)
    return CheckedObservation(
        images=images if batch is not None else images[None],
        state=state,
        instructions=instructions,
        batched=batch is not None,
        has_history=has_history,
    )


def _check_images(images: Any, spec: ObservationSpec) -> tuple[np.ndarray, int | None]:
    if not isinstance(images, Mapping):
        raise ObservationError(f"observation.images must map camera name -> uint8 image; got {type(images).__name__}")
    missing = [c for c in spec.cameras if c not in images]
    if missing:
        raise ObservationError(
            f"observation.images is missing camera {', '.join(map(repr, missing))}; "
            f"the bundle's cameras are {list(spec.cameras)} (got {sorted(images)})"
        )
    h, w = spec.image_hw
    out: list[np.ndarray] = []
    batch = None
    for cam in spec.cameras:
        field = f"observation.images[{cam!r}]"
        img = images[cam]
        if not isinstance(img, np.ndarray):
            raise ObservationError(f"{field} must be a numpy uint8 array [H, W, 3]; got {type(img).__name__}")
        if img.dtype != np.uint8:
            raise ObservationError(f"{field} has dtype {img.dtype}; the bundle expects uint8 images [{h}, {w}, 3]")
        if img.ndim == 3:
            this_batch = None
        elif img.ndim == 4:
            this_batch = img.shape[0]
        else:
            raise ObservationError(
                f"{field} has shape {img.shape}; the bundle expects ({h}, {w}, 3) or (B, {h}, {w}, 3)"
            )
        if img.shape[-3:] != (h, w, 3):
            raise ObservationError(f"{field} has shape {img.shape}; the bundle expects ({h}, {w}, 3) per image")
        if out and this_batch != batch:
            raise ObservationError(
                f"{field} has shape {img.shape}, but camera {spec.cameras[0]!r} has shape {out[0].shape[:-3]}: "
                "cameras must agree on batching"
            )
        batch = this_batch
        out.append(np.moveaxis(img, -1, -3))  # HWC -> CHW
    stacked = np.stack(out, axis=-4)  # [(B,) n_cam, 3, H, W]
    return np.ascontiguousarray(stacked), batch


def _check_state(state: Any, spec: ObservationSpec, batch: int | None) -> tuple[np.ndarray, bool]:
    robot = spec.robot
    try:
        arr = np.asarray(state, dtype=np.float64)
    except (TypeError, ValueError):
        raise ObservationError(f"observation.state must be numbers; got {type(state).__name__}") from None
    dim = arr.shape[-1] if arr.ndim else 0
    if dim != spec.state_dim:
        raise ObservationError(
            f"observation.state has {dim} values; the bundle's robot {robot.name} expects {spec.state_dim} "
            f"({', '.join(robot.state_names)})"
        )
    expected_ndim = 1 if batch is None else 2
    if arr.ndim == expected_ndim:
        arr = arr[..., None, :]  # one step: [.., 1, Ds]
    elif arr.ndim != expected_ndim + 1:
        layout = "[Ds] or [T, Ds]" if batch is None else "[B, Ds] or [B, T, Ds]"
        raise ObservationError(f"observation.state has shape {arr.shape}; expected {layout} (images say batch {batch})")
    if batch is None:
        arr = arr[None]
    elif arr.shape[0] != batch:
        raise ObservationError(f"observation.state has batch {arr.shape[0]}; the images have batch {batch}")
    steps = arr.shape[1]
    has_history = steps == spec.obs_horizon
    if steps not in (1, spec.obs_horizon):
        raise ObservationError(
            f"observation.state has {steps} steps; the bundle's obs_horizon is {spec.obs_horizon} "
            "(send 1 step and let the policy keep the history, or all of them)"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        sample, step, dim = (int(i) for i in np.argwhere(bad)[0])
        raise ObservationError(
            f"observation.state contains NaN or inf ({int(bad.sum())} values; first at feature "
            f"{robot.state_names[dim]!r}, sample {sample}, step {step})"
        )
    big = np.abs(arr) > FLOAT32_MAX  # the model runs in float32: these would become inf
    if big.any():
        sample, step, dim = (int(i) for i in np.argwhere(big)[0])
        raise ObservationError(
            f"observation.state value {arr[sample, step, dim]:.4g} at feature {robot.state_names[dim]!r} "
            f"(sample {sample}, step {step}) is outside the float32 range (|x| <= {FLOAT32_MAX:.4g})"
        )
    return arr, has_history


def _check_instruction(instruction: Any, batch: int) -> list[str]:
    if isinstance(instruction, str):
        return [instruction] * batch
    if isinstance(instruction, Sequence) and all(isinstance(s, str) for s in instruction):
        if len(instruction) != batch:
            raise ObservationError(f"observation.instruction lists {len(instruction)} strings for a batch of {batch}")
        return list(instruction)
    raise ObservationError(
        f"observation.instruction must be a string or a list of strings; got {type(instruction).__name__}"
    )


class StateHistory:
    """The last ``obs_horizon`` states of one robot, oldest first, padded by repeating the first.

    Padding by repetition is what the dataset does at episode start, so a policy sees the same
    thing at step 0 of a rollout as it saw during training.
    """

    def __init__(self, obs_horizon: int) -> None:
        self.obs_horizon = obs_horizon
        self.reset()

    def reset(self) -> None:
        self._frames: list[np.ndarray] = []

    def push(self, state: np.ndarray) -> np.ndarray:
        """Add states ``[B, 1, Ds]``; returns ``[B, T, Ds]``."""
        if self._frames and self._frames[-1].shape != state.shape:
            raise ObservationError(
                f"observation.state has shape {state.shape[::2]}; earlier steps of this episode had "
                f"{self._frames[-1].shape[::2]}: call reset() between episodes"
            )
        self._frames = (self._frames + [state])[-self.obs_horizon :]
        pad = [self._frames[0]] * (self.obs_horizon - len(self._frames))
        return np.concatenate(pad + self._frames, axis=1)
