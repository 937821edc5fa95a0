"""The policy service: ``bentoml serve librobot.serving.service:PolicyService``.

Serves the packaged model named by ``$LIBROBOT_MODEL_TAG`` (default: the latest
``librobot-policy``). Everything it needs (robot spec, normalization, cameras, chunk settings)
comes from that model's metadata. Endpoints: ``act`` (raw observations in robot units -> action
chunks in robot units, batched across requests by our ``MicroBatcher``, sized by
``$LIBROBOT_MAX_BATCH`` / ``$LIBROBOT_BATCH_WAIT_MS``), ``metadata``; BentoML adds ``/livez``,
``/readyz`` and ``/metrics`` (with our batch-size, model-call and queue-wait metrics). Set
``$LIBROBOT_API_TOKEN`` to require ``Authorization: Bearer <token>``. What each bad input gets: docs/serving.md.
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
from librobot.serving.batcher import BatchRun, MicroBatcher
from librobot.serving.guard import RequestGuard
from librobot.serving.payload import MAX_OBSERVATIONS_PER_REQUEST, ActionChunk, Observation, set_spec
from librobot.serving.policy_call import ActRefused, act_prepared, policy_batcher, served_metadata
from librobot.serving.served_policy import load_served_policy, prepare

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
        self.batcher: MicroBatcher[Any] = policy_batcher(self.policy, BatchMetrics())
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
        # a ready Response: BentoML would otherwise build the output's JSON schema on every call to pick
        # its media type, validate the chunks again and stream them chunked (1.06 vs 0.10 ms an answer,
        # `stages` in benchmarks/results/service_latency.json)
        return JSONResponse([{"actions": chunk.tolist()} for chunk in actions])  # type: ignore[return-value]

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """Robot spec, normalization, chunk settings and versions of the served model (no host paths)."""
        return served_metadata(self.tag, self.policy, self.meta, self.batcher)


def error_response(status: int, message: str) -> JSONResponse:
    logger.info("%d /act: %s", status, message[:300])
    return JSONResponse({"error": message}, status_code=status)


class BatchMetrics:
    """Every model call's rows, seconds and model-thread CPU, and each request's wait in the queue, on
    ``/metrics``: what ``LIBROBOT_MAX_BATCH`` and ``LIBROBOT_BATCH_WAIT_MS`` are tuned from."""

    def __init__(self) -> None:
        self.rows = bentoml.metrics.Histogram(
            name="librobot_batch_rows",
            documentation="Observations per model call",
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        self.model_s = bentoml.metrics.Histogram(
            name="librobot_model_call_seconds",
            documentation="Seconds from handing a batch to the model thread to its chunks",
            buckets=(0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
        )
        self.model_cpu_s = bentoml.metrics.Counter(
            name="librobot_model_cpu_seconds",
            documentation="CPU seconds the model thread spent in model calls (the rest of the server's is HTTP)",
        )
        self.wait_s = bentoml.metrics.Histogram(
            name="librobot_queue_wait_seconds",
            documentation="Seconds a request waited in the batcher's queue before its model call began",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64),
        )

    def __call__(self, run: BatchRun) -> None:
        self.rows.observe(run.rows)
        self.model_s.observe(run.model_s)
        self.model_cpu_s.inc(run.model_cpu_s)
        for wait in run.waits_s:
            self.wait_s.observe(wait)


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
