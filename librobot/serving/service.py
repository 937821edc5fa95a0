"""The policy service: ``bentoml serve librobot.serving.service:PolicyService``.

Serves the packaged model named by ``$LIBROBOT_MODEL_TAG`` (default: the latest
``librobot-policy``). Everything it needs (robot spec, normalization, cameras, chunk settings)
comes from that model's metadata. Endpoints: ``act`` (raw observations in robot units -> action
chunks in robot units, batched across requests by our ``MicroBatcher``), ``metadata``; BentoML adds
``/livez``, ``/readyz`` and ``/metrics``. Set ``$LIBROBOT_API_TOKEN`` to require
``Authorization: Bearer <token>``. What each bad input gets: docs/serving.md.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import bentoml
from pydantic import Field
from starlette.responses import JSONResponse

from librobot.inference.observation import ObservationError, ObservationSpec
from librobot.policy_spec import PolicySpec
from librobot.serving import DEFAULT_MODEL_NAME
from librobot.serving.batcher import MicroBatcher
from librobot.serving.guard import RequestGuard
from librobot.serving.payload import MAX_OBSERVATIONS_PER_REQUEST, ActionChunk, Observation, set_spec
from librobot.serving.policy_call import ActRefused, act_prepared, served_metadata
from librobot.serving.served_policy import load_served_policy, prepare, run_prepared

MODEL_TAG = os.environ.get("LIBROBOT_MODEL_TAG") or f"{DEFAULT_MODEL_NAME}:latest"
logger = logging.getLogger("librobot.serving")


@bentoml.service(
    name="librobot_policy",
    workers=1,
    traffic={"timeout": 60, "max_concurrency": 256},
)
class PolicyService:
    model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        stored = self.model
        self.tag = str(stored.tag)
        self.meta: dict[str, Any] = dict(stored.info.metadata)
        self.policy = load_served_policy(stored.path, self.meta)
        set_spec(ObservationSpec.from_spec(PolicySpec.from_served(self.meta)))
        self.batcher: MicroBatcher[Any] = MicroBatcher(
            lambda items: run_prepared(self.policy, items), MAX_OBSERVATIONS_PER_REQUEST
        )
        logging.getLogger("librobot.serving").setLevel(logging.INFO)  # one line per refused request
        logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorLogFilter())

    @bentoml.api
    async def act(
        self, observations: Annotated[list[Observation], Field(min_length=1, max_length=MAX_OBSERVATIONS_PER_REQUEST)]
    ) -> list[ActionChunk]:
        """Action chunk [H, Da] in robot units for each raw observation."""
        try:
            prepared = [prepare(self.policy, obs.check(), obs.seed) for obs in observations]
        except ObservationError as exc:
            return error_response(400, str(exc))  # type: ignore[return-value]  # BentoML sends a Response as is
        try:
            actions = await act_prepared(self.policy, self.batcher, prepared)
        except ActRefused as exc:
            return error_response(exc.refusal.http_status, exc.message)  # type: ignore[return-value]
        return [ActionChunk(actions=chunk.tolist()) for chunk in actions]

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """Robot spec, normalization, chunk settings and versions of the served model (no host paths)."""
        return served_metadata(self.tag, self.policy, self.meta)


def error_response(status: int, message: str) -> JSONResponse:
    logger.info("%d /act: %s", status, message[:300])
    return JSONResponse({"error": message}, status_code=status)


class ClientErrorLogFilter(logging.Filter):
    """BentoML logs a full traceback for every request that fails validation (one 400 = ~1 KB of
    log; a hostile client grew the log to 2.7 MB). Keep one line with the fields that failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        from pydantic import ValidationError

        exc = record.exc_info[1] if record.exc_info else None
        status = getattr(getattr(exc, "error_code", None), "value", None)
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:3]
            )
            status = 400
        elif isinstance(status, int) and 400 <= status < 500:
            problems = str(exc)
        else:
            return True
        record.msg = "%d %s: %s"
        record.args = (
            status,
            record.args[0] if isinstance(record.args, tuple) and record.args else "?",
            problems[:300],
        )
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class _GuardedService(type(PolicyService)):  # type: ignore[misc]  # BentoML's Service class, known at run time
    """Our service with the guard around everything BentoML builds (see ``guard.py`` for why it
    must run before BentoML's own middlewares, which ``add_asgi_middleware`` cannot do)."""

    __slots__ = ()

    def to_asgi(self, is_main: bool = True) -> Any:
        return RequestGuard(super().to_asgi(is_main))


PolicyService.__class__ = _GuardedService  # type: ignore[method-assign]
