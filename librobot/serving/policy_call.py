"""What the HTTP service and the gRPC server share once a request is parsed: the batched policy
call with its refusals, the served model's public metadata, and loading the packaged model.

Both front ends check their own wire format into ``CheckedObservation`` s, ``prepare`` them, and
hand them to ``act_prepared``; a refusal comes back as ``ActRefused`` with a ``Refusal`` that each
front end maps to its own status (HTTP 422, gRPC OUT_OF_RANGE, ...). One body, two callers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

import librobot
from librobot.inference.policy import Policy
from librobot.serving.batcher import BatchMismatchError, BatchRun, MicroBatcher, batching_from_env
from librobot.serving.served_policy import PreparedObservation, run_prepared

logger = logging.getLogger("librobot.serving")


class Refusal(Enum):
    """Why a request got no chunks: (HTTP status, gRPC status name)."""

    INVALID_INPUT = (400, "INVALID_ARGUMENT")
    NON_FINITE_ACTIONS = (422, "OUT_OF_RANGE")
    MODEL_FAILED = (500, "INTERNAL")

    @property
    def http_status(self) -> int:
        return self.value[0]

    @property
    def grpc_code(self) -> str:
        return self.value[1]


class ActRefused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


def policy_batcher(
    policy: Policy, observe: Callable[[BatchRun], None] | None = None
) -> MicroBatcher[PreparedObservation]:
    """The batcher in front of ``policy``, sized by ``$LIBROBOT_MAX_BATCH`` / ``$LIBROBOT_BATCH_WAIT_MS``."""
    max_batch, max_wait_s = batching_from_env()
    return MicroBatcher(lambda items: run_prepared(policy, items), max_batch, max_wait_s, observe)


async def act_prepared(
    policy: Policy, batcher: MicroBatcher[PreparedObservation], prepared: Sequence[PreparedObservation]
) -> np.ndarray:
    """``[N, H, Da]`` chunks in robot units for this request's prepared observations, or ``ActRefused``."""
    try:
        actions = await batcher.submit(prepared)
    except BatchMismatchError:
        raise ActRefused(
            Refusal.MODEL_FAILED, "the model returned a different number of chunks than it was given"
        ) from None
    except Exception:
        logger.exception("the model failed on a request of %d observations", len(prepared))
        raise ActRefused(
            Refusal.MODEL_FAILED, "the model failed on this request; the server log has the traceback"
        ) from None
    # the batcher hands back exactly this request's rows; check, never mis-assign
    assert len(actions) == len(prepared), f"{len(actions)} chunks for {len(prepared)} observations"
    broken = [i for i, chunk in enumerate(actions) if not np.isfinite(chunk).all()]
    if broken:
        # never NaN on the wire: refuse, and point at the input most outside the training range
        worst = prepared[broken[0]].normalized_state[0, -1]
        dim = int(np.argmax(np.abs(worst)))
        name = policy.robot.state_names[dim]
        raise ActRefused(
            Refusal.NON_FINITE_ACTIONS,
            f"the policy produced non-finite actions for observation {broken[0]} "
            f"({len(broken)} of {len(actions)}); its state feature furthest outside the training range is "
            f"{name!r} = {prepared[broken[0]].state[0, -1, dim]:.4g} ({worst[dim]:.3g} in normalized units)",
        )
    return actions


def served_metadata(
    tag: str, policy: Policy, meta: Mapping[str, Any], batcher: MicroBatcher[Any] | None = None
) -> dict[str, Any]:
    """Robot spec, normalization, chunk settings and versions of the served model (no host paths),
    and the batching it is served with."""
    out = {
        "model_tag": tag,
        "served_runtime": policy.runtime.name,
        "librobot_version": librobot.__version__,
        **public_metadata(meta),
    }
    if batcher is not None:
        out["batching"] = {"max_batch": batcher.max_batch, "max_wait_ms": round(1000 * batcher.max_wait_s, 3)}
    return out


def public_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The model's metadata without the server's filesystem: the dataset keeps its name and md5."""
    out = {key: _strip_paths(value) for key, value in meta.items() if key != "dataset_path"}
    if meta.get("dataset_path"):
        out["dataset_name"] = _path_name(str(meta["dataset_path"]))
    return out


def _path_name(text: str) -> str:
    return PureWindowsPath(text).name if PureWindowsPath(text).drive else PurePosixPath(text).name


def _strip_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_paths(v) for v in value]
    if isinstance(value, str) and (value.startswith(("/", "~", "\\\\")) or PureWindowsPath(value).drive):
        return _path_name(value)
    return value


def load_packaged(tag: str) -> tuple[str, str, dict[str, Any]]:
    """``(full tag, model directory, metadata)`` of a model in the BentoML store (``bentoml.models.get``)."""
    import bentoml

    try:
        stored = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        raise ValueError(
            f"no BentoML model {tag!r} in this store (BENTOML_HOME); create one with `librobot package --policy DIR`"
        ) from None
    return str(stored.tag), str(stored.path), dict(stored.info.metadata)
