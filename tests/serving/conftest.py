"""Fixtures of the serving tests: an isolated BentoML home, the tiny policy packaged, a real server."""

import os
import subprocess

import pytest

from tests.helpers.serving import BIN, REPO, TOKEN, serve


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


@pytest.fixture(scope="session")
def server(packaged, bentoml_env, tmp_path_factory):
    """A real `bentoml serve` on loopback with bearer-token auth; yields its base URL."""
    with serve(packaged, bentoml_env, tmp_path_factory.mktemp("serve"), LIBROBOT_API_TOKEN=TOKEN) as url:
        yield url
