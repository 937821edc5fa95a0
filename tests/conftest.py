"""Shared test set-up: headless rendering, one torch thread per process, no telemetry, no network."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

import librobot  # noqa: E402,F401  (turns telemetry off before any stack library is imported)

torch.set_num_threads(1)
