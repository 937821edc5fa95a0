"""The policy service: ``bentoml serve librobot.serving.service:PolicyService``.

Serves the packaged model named by ``$LIBROBOT_MODEL_TAG`` (default: the latest
``librobot-policy``). Everything it needs (robot spec, normalization, cameras, chunk settings)
comes from that model's metadata. Endpoints: ``act`` (adaptive batching; raw observations in robot
units -> action chunks in robot units), ``metadata``; BentoML adds ``/livez``, ``/readyz`` and
``/metrics``. Set ``$LIBROBOT_API_TOKEN`` to require ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import bentoml
from pydantic import Field

from librobot.inference.observation import ObservationSpec
from librobot.serving.guard import RequestGuard
from librobot.serving.package import DEFAULT_MODEL_NAME
from librobot.serving.payload import MAX_OBSERVATIONS_PER_REQUEST, ActionChunk, Observation, set_spec

MODEL_TAG = os.environ.get("LIBROBOT_MODEL_TAG") or f"{DEFAULT_MODEL_NAME}:latest"
# BentoML's batcher answers 503 when it expects a request to wait longer than this: it must exceed
# the model's own latency at full batch (hundreds of ms for a VLA policy on CPU), not be a target.
MAX_LATENCY_MS = int(os.environ.get("LIBROBOT_MAX_LATENCY_MS") or 10_000)


@bentoml.service(
    name="librobot_policy",
    workers=1,
    traffic={"timeout": 60, "max_concurrency": 256},
)
class PolicyService:
    model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        from librobot.serving.served_policy import load_served_policy

        stored = self.model
        self.tag = str(stored.tag)
        self.meta: dict[str, Any] = dict(stored.info.metadata)
        self.policy = load_served_policy(stored.path, self.meta)
        set_spec(ObservationSpec.from_normalization(self.meta))

    @bentoml.api(batchable=True, max_batch_size=MAX_OBSERVATIONS_PER_REQUEST, max_latency_ms=MAX_LATENCY_MS)
    def act(
        self, observations: Annotated[list[Observation], Field(min_length=1, max_length=MAX_OBSERVATIONS_PER_REQUEST)]
    ) -> list[ActionChunk]:
        """Action chunk [H, Da] in robot units for each raw observation."""
        from librobot.serving.served_policy import act_batch

        checked = [obs.check() for obs in observations]
        actions = act_batch(self.policy, checked, [obs.seed for obs in observations])
        return [ActionChunk(actions=chunk.tolist()) for chunk in actions]

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """Robot spec, normalization, chunk settings and versions of the served model."""
        import librobot

        return {
            "model_tag": self.tag,
            "served_runtime": self.policy.runtime.name,
            "librobot_version": librobot.__version__,
            **self.meta,
        }


PolicyService.add_asgi_middleware(RequestGuard)
