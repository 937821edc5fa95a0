"""``Transport`` over the gRPC policy server (``librobot serve-grpc``): unary ``Act`` per chunk."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import grpc
import numpy as np

from librobot.client.transport import RequestRefused, ServerUnavailable
from librobot.serving.grpc_messages import chunk_array, observation_message
from librobot.serving.guard import DEFAULT_MAX_BYTES
from librobot.serving.proto import policy_pb2 as pb
from librobot.serving.proto import policy_rpc

# worth another try: nobody answered in time, nobody listens, overloaded, or a server-side failure
RETRYABLE = (
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.ABORTED,
)


class GrpcTransport:
    def __init__(self, target: str, token: str | None = None) -> None:
        """``target``: ``host:port`` of ``librobot serve-grpc``."""
        self.target = target
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", DEFAULT_MAX_BYTES),
                ("grpc.max_receive_message_length", DEFAULT_MAX_BYTES),
                # reconnect quickly once a stopped server is back (default backoff grows to 120 s)
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 1000),
            ],
        )
        self.stub = policy_rpc.PolicyStub(self.channel)
        self.call_metadata = [("authorization", f"Bearer {token}")] if token else []

    def metadata(self) -> dict[str, Any]:
        reply = self._call("Metadata", self.stub.Metadata, pb.MetadataRequest(), timeout=30.0)
        return json.loads(reply.json)

    def act(self, observation: Mapping[str, Any], seed: int | None, timeout: float) -> np.ndarray:
        request = pb.ActRequest(observations=[observation_message(observation, seed)])
        reply = self._call("Act", self.stub.Act, request, timeout=timeout)
        if len(reply.chunks) != 1:
            raise ServerUnavailable(f"Act returned {len(reply.chunks)} chunks for 1 observation")
        return chunk_array(reply.chunks[0])

    def _call(self, name: str, method: Any, request: Any, timeout: float) -> Any:
        try:
            return method(request, timeout=timeout, metadata=self.call_metadata)
        except grpc.RpcError as err:
            code, details = err.code(), err.details()
            text = f"{name} on {self.target}: {code.name}: {details}"
            raise (ServerUnavailable if code in RETRYABLE else RequestRefused)(text) from None

    def close(self) -> None:
        self.channel.close()
