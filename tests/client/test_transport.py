"""Transports fail the way the client expects when nobody answers (real sockets, nothing listening)."""

import socket

import numpy as np
import pytest

from librobot.client import ServerUnavailable, make_transport


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_no_server_is_unavailable_not_a_crash(scheme):
    transport = make_transport(f"{scheme}://127.0.0.1:{closed_port()}")
    obs = {"images": {"cam": np.zeros((4, 4, 3), np.uint8)}, "state": np.zeros(3), "instruction": ""}
    try:
        with pytest.raises(ServerUnavailable):
            transport.act(obs, seed=0, timeout=2.0)
    finally:
        transport.close()


def test_an_unknown_scheme_names_the_ones_accepted():
    with pytest.raises(ValueError, match=r"expected http://host:port \(BentoML service\) or grpc://host:port"):
        make_transport("tcp://robot:1234")
