"""The gRPC policy server: ``librobot serve-grpc --model TAG``.

Serves the same packaged BentoML model as the HTTP service (same metadata, normalization and
runtime choice, ``LIBROBOT_RUNTIME`` included) through the same code: ``grpc_messages`` parses with
the HTTP payload's limits and checks, ``served_policy.prepare`` and ``policy_call.act_prepared`` run
the model through a ``MicroBatcher`` shared by every call and stream. Services: ``Policy`` (Act,
ActStream, Metadata; ``proto/policy.proto``) and the standard ``grpc.health.v1.Health``.

Guards, as the HTTP service's: ``LIBROBOT_API_TOKEN`` makes the Policy service require the
``authorization: Bearer <token>`` metadata (UNAUTHENTICATED otherwise; Health stays open); messages
are bounded by ``LIBROBOT_MAX_REQUEST_BYTES`` (RESOURCE_EXHAUSTED above it); at most
``MAX_CONCURRENT_RPCS`` calls and streams at once (RESOURCE_EXHAUSTED beyond); a request waits at
most ``REQUEST_TIMEOUT_S`` for the model (DEADLINE_EXCEEDED). Bad input gets INVALID_ARGUMENT naming
the field, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from librobot.inference.observation import ObservationError, ObservationSpec
from librobot.inference.policy import Policy
from librobot.policy_spec import PolicySpec
from librobot.serving.batcher import MicroBatcher
from librobot.serving.grpc_messages import chunk_message, parse_observation
from librobot.serving.guard import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, TOKEN_ENV
from librobot.serving.payload import MAX_OBSERVATIONS_PER_REQUEST
from librobot.serving.policy_call import (
    ActRefused,
    Refusal,
    act_prepared,
    load_packaged,
    policy_batcher,
    served_metadata,
)
from librobot.serving.proto import policy_pb2 as pb
from librobot.serving.proto import policy_rpc
from librobot.serving.served_policy import PreparedObservation, load_served_policy, prepare

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Policy"].full_name  # librobot.policy.v1.Policy
DEFAULT_PORT = 50051
MAX_CONCURRENT_RPCS = 256  # the HTTP service's max_concurrency
REQUEST_TIMEOUT_S = 60.0  # the HTTP service's request timeout
logger = logging.getLogger("librobot.serving")


class PolicyServicer:
    def __init__(self, tag: str, policy: Policy, meta: dict[str, Any]) -> None:
        self.tag = tag
        self.policy = policy
        self.meta = meta
        self.spec = ObservationSpec.from_spec(PolicySpec.from_served(meta))
        self.batcher: MicroBatcher[PreparedObservation] = policy_batcher(policy)

    async def Act(self, request: pb.ActRequest, context: grpc.aio.ServicerContext) -> pb.ActResponse:
        count = len(request.observations)
        if not 1 <= count <= MAX_OBSERVATIONS_PER_REQUEST:
            await _abort(
                context, Refusal.INVALID_INPUT, f"observations holds {count}; send 1 to {MAX_OBSERVATIONS_PER_REQUEST}"
            )
        try:
            chunks = await self._act(list(request.observations))
        except ActRefused as exc:
            await _abort(context, exc.refusal, exc.message)
        except TimeoutError:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer from the model in {REQUEST_TIMEOUT_S:g} s"
            )
        return pb.ActResponse(chunks=[chunk_message(chunk) for chunk in chunks])

    async def ActStream(
        self, requests: AsyncIterator[pb.StreamRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamResponse]:
        # one observation at a time, in order: HTTP/2 flow control holds back a robot that sends faster
        async for request in requests:
            try:
                (chunk,) = await self._act([request.observation])
            except ActRefused as exc:
                logger.info("%s ActStream id %d: %s", exc.refusal.grpc_code, request.id, exc.message[:300])
                yield pb.StreamResponse(id=request.id, error=pb.Error(code=exc.refusal.grpc_code, message=exc.message))
                continue
            except TimeoutError:
                message = f"no answer from the model in {REQUEST_TIMEOUT_S:g} s"
                yield pb.StreamResponse(id=request.id, error=pb.Error(code="DEADLINE_EXCEEDED", message=message))
                continue
            yield pb.StreamResponse(id=request.id, chunk=chunk_message(chunk))

    async def Metadata(self, request: pb.MetadataRequest, context: grpc.aio.ServicerContext) -> pb.MetadataResponse:
        meta = served_metadata(self.tag, self.policy, self.meta, self.batcher)
        return pb.MetadataResponse(
            model_tag=self.tag,
            robot=self.policy.robot.name,
            cameras=list(self.spec.cameras),
            image_height=self.spec.image_hw[0],
            image_width=self.spec.image_hw[1],
            action_horizon=self.policy.action_horizon,
            obs_horizon=self.spec.obs_horizon,
            served_runtime=self.policy.runtime.name,
            json=json.dumps(meta),
        )

    async def _act(self, observations: list[pb.Observation]) -> Any:
        """Parse and prepare every observation before any joins a batch, then one batched model call."""
        prepared = []
        for i, msg in enumerate(observations):
            try:
                checked, seed = parse_observation(msg, self.spec)
                prepared.append(prepare(self.policy, checked, seed))
            except ObservationError as exc:
                where = f"observations[{i}]: " if len(observations) > 1 else ""
                raise ActRefused(Refusal.INVALID_INPUT, f"{where}{exc}") from None
        return await asyncio.wait_for(act_prepared(self.policy, self.batcher, prepared), REQUEST_TIMEOUT_S)


async def _abort(context: grpc.aio.ServicerContext, refusal: Refusal, message: str) -> None:
    logger.info("%s: %s", refusal.grpc_code, message[:300])
    await context.abort(getattr(grpc.StatusCode, refusal.grpc_code), message)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """``authorization: Bearer <token>`` on every Policy call (compared in constant time); Health stays open."""

    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not details.method.startswith(f"/{SERVICE_NAME}/"):
            return handler
        given = next((v for k, v in details.invocation_metadata or () if k == "authorization"), "")
        given = given.encode() if isinstance(given, str) else given
        if hmac.compare_digest(given, self.expected):
            return handler
        message = f"{'missing' if not given else 'wrong'} bearer token: send metadata 'authorization: Bearer <token>' ({TOKEN_ENV})"

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
            logger.info("UNAUTHENTICATED %s: %s", details.method, message)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(deny)
        return grpc.unary_unary_rpc_method_handler(deny)


async def start_server(
    tag: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, runtime: str | None = None
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """Load the packaged model, start serving; returns (server, bound port, health servicer)."""
    full_tag, path, meta = load_packaged(tag)
    policy = load_served_policy(path, meta, runtime)
    token = os.environ.get(TOKEN_ENV) or None
    max_bytes = int(os.environ.get(MAX_BYTES_ENV) or DEFAULT_MAX_BYTES)
    server = grpc.aio.server(
        interceptors=[TokenInterceptor(token)] if token else [],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
        options=[
            ("grpc.max_receive_message_length", max_bytes),
            ("grpc.max_send_message_length", max_bytes),
            ("grpc.so_reuseport", 0),  # a second server on the same port fails instead of sharing it
        ],
    )
    policy_rpc.add_policy_service(PolicyServicer(full_tag, policy, meta), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise ValueError(f"cannot listen on {host}:{port} (in use, or not an address of this machine)")
    await server.start()
    for service in ("", SERVICE_NAME):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    logger.info(
        "serving %s (%s, robot %s) over gRPC on %s:%d%s",
        full_tag,
        policy.runtime.name,
        policy.robot.name,
        host,
        bound,
        "" if token else f"; no {TOKEN_ENV}: every client may call it",
    )
    return server, bound, health


async def serve(tag: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, runtime: str | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then report NOT_SERVING and let calls in flight finish (5 s)."""
    server, _, health = await start_server(tag, host, port, runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await health.enter_graceful_shutdown()
    await server.stop(grace=5.0)
