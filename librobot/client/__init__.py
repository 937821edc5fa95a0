"""Robot-side clients of the policy servers (HTTP BentoML service, gRPC ``librobot serve-grpc``).

from librobot.client import AsyncPolicyClient, make_transport

with AsyncPolicyClient(make_transport("grpc://localhost:50051", token), seed=0) as client:
    for obs in robot:                      # one observation per control period
        robot.apply(client.step(obs))      # never waits for the network between chunks
"""

from librobot.client.async_client import AsyncPolicyClient, ClientStats
from librobot.client.rate import Rate
from librobot.client.transport import RequestRefused, ServerUnavailable, Transport, TransportError, make_transport

__all__ = [
    "AsyncPolicyClient",
    "ClientStats",
    "Rate",
    "RequestRefused",
    "ServerUnavailable",
    "Transport",
    "TransportError",
    "make_transport",
]
