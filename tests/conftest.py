"""Shared test set-up: headless rendering, one torch thread per process, no telemetry, no network."""

import os

pytest_plugins = ["tests.helpers.fixtures"]  # shared fixtures; helpers import as tests.helpers.<module>

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

import librobot  # noqa: E402,F401  (turns telemetry off before any stack library is imported)

torch.set_num_threads(1)


# Tests write only under temporary directories: a new entry in the checkout's root after the
# session (an `mlruns/` from MLflow's default artifact root, an `outputs/`) fails the run.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CACHES = {".pytest_cache", ".ruff_cache", "__pycache__", ".mypy_cache"}
_ROOT_BEFORE = set(os.listdir(_REPO))


def pytest_sessionfinish(session, exitstatus):
    new = sorted(set(os.listdir(_REPO)) - _ROOT_BEFORE - _CACHES)
    if new and not hasattr(session.config, "workerinput"):
        session.config.get_terminal_writer().line(f"tests wrote into the checkout's root: {new}", red=True)
        session.exitstatus = 1
