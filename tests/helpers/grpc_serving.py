"""A real `librobot serve-grpc` on loopback for the gRPC tests, and wire helpers."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from librobot.serving.proto import policy_rpc
from tests.helpers.serving import BIN, server_process


@contextlib.contextmanager
def serve_grpc(tag: str, env: dict, log_dir: Path, port: int, **env_extra: str) -> Iterator[subprocess.Popen]:
    """`librobot serve-grpc --model TAG` in a subprocess; yields it once Health says SERVING."""
    command = [str(BIN / "librobot"), "serve-grpc", "--model", tag, "--host", "127.0.0.1", "--port", str(port)]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        def ready() -> bool:
            try:
                return health.Check(health_pb2.HealthCheckRequest(), timeout=2).status == 1
            except grpc.RpcError:
                return False

        with server_process(command, {**env, **env_extra}, log_dir / "serve-grpc.log", ready, timeout_s=120) as proc:
            yield proc


def stub(port: int) -> tuple[grpc.Channel, policy_rpc.PolicyStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel, policy_rpc.PolicyStub(channel)
