"""A real policy service for tests: the token, observations as JSON, `bentoml serve` on loopback."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVE_LOGS: dict[str, Path] = {}  # base URL -> the log file of that server


@contextlib.contextmanager
def serve(packaged, bentoml_env, log_dir: Path, **env_extra: str):
    """A real `bentoml serve` on loopback; yields its base URL (its log: ``SERVE_LOGS[url]``)."""
    port = free_port()
    env = {**bentoml_env, "LIBROBOT_MODEL_TAG": packaged, **env_extra}
    log = open(log_dir / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(BIN / "bentoml"),
            "serve",
            "librobot.serving.service:PolicyService",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers share our process group id: stopped together below
    )
    url = f"http://127.0.0.1:{port}"
    SERVE_LOGS[url] = Path(log.name)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bentoml serve exited with {proc.returncode}: {Path(log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bentoml serve not ready in 180 s: {Path(log.name).read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
