"""Contract: `accelerate launch` runs the same Trainer as 2 DDP processes (CPU, gloo) that stay in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from librobot.checkpoint import load_weights
from tests.helpers.tiny_run import worker_config

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_process_ddp_ranks_agree_on_weights(tiny_dataset, tmp_path):
    accelerate = Path(sys.executable).with_name("accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": "29533"}
    cmd = [
        str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533",
        str(WORKER), str(worker_config(tiny_dataset, tmp_path)), str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(i["num_processes"] == 2 and i["distributed_type"].endswith("MULTI_CPU") for i in infos)
    assert all(i["step"] == 3 for i in infos)
    w0 = load_weights(tmp_path / "rank0.safetensors")
    w1 = load_weights(tmp_path / "rank1.safetensors")
    differ = [k for k in w0 if not torch.allclose(w0[k], w1[k], rtol=0, atol=1e-7)]
    assert not differ, f"ranks disagree on {differ[:5]}"
    # the main process wrote the bundle (no EMA here: the live weights), recording that two processes trained it
    metadata = json.loads((tmp_path / "bundle" / "metadata.json").read_text())
    assert metadata["train_metrics"]["num_processes"] == 2
    bundle = load_weights(tmp_path / "bundle" / "model.safetensors")
    assert all(torch.equal(bundle[k], w0[k]) for k in w0)  # a copy of rank 0's weights: no arithmetic, exact
