"""A real `librobot serve-grpc` on loopback for the gRPC tests, and wire helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from librobot.serving.proto import policy_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def serve_grpc(tag: str, env: dict, log_dir: Path, port: int, **env_extra: str) -> Iterator[subprocess.Popen]:
    """`librobot serve-grpc --model TAG` in a subprocess; yields it once Health says SERVING."""
    log = open(log_dir / "serve-grpc.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(BIN / "librobot"), "serve-grpc", "--model", tag, "--host", "127.0.0.1", "--port", str(port)],
        env={**env, **env_extra},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"serve-grpc exited with {proc.returncode}: {Path(log.name).read_text()[-3000:]}"
                    )
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=2).status == 1:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve-grpc not serving in 120 s: {Path(log.name).read_text()[-3000:]}")
                time.sleep(0.3)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)  # a test may have stopped it
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def stub(port: int) -> tuple[grpc.Channel, pb_grpc.PolicyStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel, pb_grpc.PolicyStub(channel)
