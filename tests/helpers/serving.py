"""A real policy service for tests: the token, observations as JSON, `bentoml serve` on loopback."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[2]  # the checkout
BIN = Path(sys.executable).parent
TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def encode(obs: dict, seed: int | None = 0) -> dict:
    """A raw observation (numpy) as the service's JSON: base64 images, lists."""
    return {
        "images": {
            c: base64.b64encode(np.ascontiguousarray(img).tobytes()).decode() for c, img in obs["images"].items()
        },
        "state": np.asarray(obs["state"]).tolist(),
        "instruction": obs["instruction"],
        "seed": seed,
    }


def answered_chunks(answer) -> list[np.ndarray]:
    """The chunks of an ``act`` answer called in process (the JSON response the service sends), or raise."""
    assert answer.status_code == 200, answer.body[:300]
    return [np.array(item["actions"]) for item in json.loads(answer.body)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVE_LOGS: dict[str, Path] = {}  # base URL -> the log file of that server


@contextlib.contextmanager
def server_process(command: list[str], env: dict, log_path: Path, ready: Callable[[], bool], timeout_s: float):
    """``command`` in its own process group, yielded once ``ready()``; the whole group stops on exit.

    ``ready`` polls the server (and returns False while it cannot answer yet); the server exiting
    first, or not being ready within ``timeout_s``, raises with the tail of its log.
    """
    log = open(log_path, "w")  # noqa: SIM115
    # a new session: the server's workers share its process group id and stop together below
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    name = " ".join(Path(command[0]).name.split() + command[1:2])
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {timeout_s:g} s: {log_path.read_text()[-3000:]}")
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


@contextlib.contextmanager
def serve(packaged, bentoml_env, log_dir: Path, **env_extra: str):
    """A real `bentoml serve` on loopback; yields its base URL (its log: ``SERVE_LOGS[url]``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "bentoml"), "serve", "librobot.serving.service:PolicyService", "--host", "127.0.0.1"]
    env = {**bentoml_env, "LIBROBOT_MODEL_TAG": packaged, **env_extra}
    SERVE_LOGS[url] = log_dir / "serve.log"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    with server_process([*command, "--port", str(port)], env, SERVE_LOGS[url], ready, timeout_s=180):
        yield url
