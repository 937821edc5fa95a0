"""The ``librobot.policy.v1.Policy`` service of policy.proto, bound to grpcio: the client stub and the
server registration, from one table of its methods.

Written by hand instead of grpc_tools' ``*_pb2_grpc.py``: that file ships a servicer base whose every
method answers UNIMPLEMENTED; here a server registers an object that must have all three methods.
The messages stay generated (``policy_pb2.py``, ``make proto``).
"""

from __future__ import annotations

from typing import Any

import grpc

from librobot.serving.proto import policy_pb2 as pb

SERVICE = "librobot.policy.v1.Policy"
# method -> (kind, request message, response message); kinds name grpc's handler/channel factories
METHODS: dict[str, tuple[str, Any, Any]] = {
    "Act": ("unary_unary", pb.ActRequest, pb.ActResponse),
    "ActStream": ("stream_stream", pb.StreamRequest, pb.StreamResponse),
    "Metadata": ("unary_unary", pb.MetadataRequest, pb.MetadataResponse),
}


class PolicyStub:
    """``stub.Act(request)``, ``stub.ActStream(requests)``, ``stub.Metadata(request)`` on a channel (sync or aio)."""

    def __init__(self, channel: Any) -> None:
        for name, (kind, request, response) in METHODS.items():
            call = getattr(channel, kind)(
                f"/{SERVICE}/{name}",
                request_serializer=request.SerializeToString,
                response_deserializer=response.FromString,
            )
            setattr(self, name, call)


def add_policy_service(servicer: Any, server: Any) -> None:
    """Serve ``servicer``'s Act, ActStream and Metadata on ``server`` (grpc.Server or grpc.aio.Server)."""
    missing = [name for name in METHODS if not callable(getattr(servicer, name, None))]
    if missing:
        raise TypeError(f"{type(servicer).__name__} lacks the Policy methods {missing}")
    handlers = {
        name: getattr(grpc, f"{kind}_rpc_method_handler")(
            getattr(servicer, name),
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )
        for name, (kind, request, response) in METHODS.items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
