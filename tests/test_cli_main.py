"""`python -m librobot.cli` is the CLI, and the multi-process launch the Kubeflow train component runs works.

The command line comes from ``librobot.training.distributed.accelerate_train_command``, the function the
component calls, so the test and the cluster cannot drift apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # the venv's `accelerate`
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}


def test_python_dash_m_librobot_cli_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "librobot.cli", "train", "--help"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: librobot train")


def test_kubeflow_train_component_command_launches_under_accelerate(tmp_path):
    from librobot.training.distributed import accelerate_train_command

    argv = accelerate_train_command(tmp_path / "config.yaml", tmp_path / "run", num_processes=2, launch_args=["--cpu"])
    assert argv[:2] == ["accelerate", "launch"] and argv[argv.index("-m") + 1] == "librobot.cli"
    # --cpu: accelerate's simple launcher (one process here; on a multi-GPU node the same command
    # without --cpu starts one process per GPU), which runs `python -m librobot.cli train ... --help`
    done = subprocess.run([*argv, "--help"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage: librobot train"), done.stdout[-3000:]
