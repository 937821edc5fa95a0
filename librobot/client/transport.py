"""One interface for asking a policy server for action chunks, whatever carries the request.

``HttpTransport`` (the BentoML service's ``/act``) and ``GrpcTransport`` (``librobot serve-grpc``)
both implement ``Transport``; the robot client (``async_client.py``) only sees this interface and
two kinds of failure: ``ServerUnavailable`` (no answer in time, no server, overloaded: worth
retrying) and ``RequestRefused`` (the server answered no: the same request will fail again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np


class TransportError(RuntimeError):
    """A request that brought back no chunk."""


class ServerUnavailable(TransportError):
    """No answer within the timeout, no server listening, or the server is overloaded or failing."""


class RequestRefused(TransportError):
    """The server refused the request (bad observation, wrong token): retrying it cannot help."""


class Transport(Protocol):
    def metadata(self) -> dict[str, Any]:
        """The served model's metadata, as the HTTP service's ``/metadata`` returns it."""
        ...

    def act(self, observation: Mapping[str, Any], seed: int | None, timeout: float) -> np.ndarray:
        """The action chunk ``[H, Da]`` (robot units) for one raw observation, within ``timeout`` seconds."""
        ...

    def close(self) -> None: ...


def make_transport(url: str, token: str | None = None) -> Transport:
    """``http://host:port`` (or https) -> ``HttpTransport``; ``grpc://host:port`` -> ``GrpcTransport``."""
    # lazy: the transports import this module's errors, and each pulls its own optional client (httpx, grpc)
    if url.startswith(("http://", "https://")):
        from librobot.client.http_transport import HttpTransport

        return HttpTransport(url, token)
    if url.startswith("grpc://"):
        from librobot.client.grpc_transport import GrpcTransport

        return GrpcTransport(url.removeprefix("grpc://"), token)
    raise ValueError(f"server url {url!r}: expected http://host:port (BentoML service) or grpc://host:port")
