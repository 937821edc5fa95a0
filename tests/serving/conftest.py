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
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "inference"))  # tiny_bundle

REPO = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="session")
def exported_bundle(tmp_path_factory):
    import torch
    from tiny_bundle import exported_bundle as build

    torch.set_num_threads(1)
    return build(tmp_path_factory)


@pytest.fixture(scope="session")
def bentoml_env(tmp_path_factory):
    """Environment with an isolated BENTOML_HOME, no telemetry, one ORT thread."""
    env = dict(os.environ)
    env.update(
        BENTOML_HOME=str(tmp_path_factory.mktemp("bentoml_home")),
        BENTOML_DO_NOT_TRACK="true",
        OMP_NUM_THREADS="1",
        LIBROBOT_ORT_THREADS="1",
    )
    env.pop("LIBROBOT_API_TOKEN", None)
    return env


@pytest.fixture(scope="session")
def packaged(exported_bundle, bentoml_env):
    """`librobot package` in a subprocess (so BENTOML_HOME applies); returns the printed tag."""
    out = subprocess.run(
        # int8 served explicitly: the hostile-client tests exercise the quantized graph on every machine
        [str(BIN / "librobot"), "package", "--policy", str(exported_bundle), "--runtime", "onnx-int8"],
        env=bentoml_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


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


@pytest.fixture(scope="session")
def server(packaged, bentoml_env, tmp_path_factory):
    """A real `bentoml serve` on loopback with bearer-token auth; yields its base URL."""
    with serve(packaged, bentoml_env, tmp_path_factory.mktemp("serve"), LIBROBOT_API_TOKEN=TOKEN) as url:
        yield url
