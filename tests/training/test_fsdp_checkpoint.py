"""Contract: a sharded (FSDP) run checkpoints whole tensors (safetensors + JSON) and resumes exactly.

accelerate selects FSDP only on GPUs, so on CPU the test shards the model with torch's own
``fully_shard`` (what accelerate's FSDP2 path calls) over gloo, and drives the same state-dict
helpers the Trainer uses under FSDP (librobot/training/sharding.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from librobot.checkpoint import load_weights
from librobot.training.checkpointing import latest_checkpoint

WORKER = Path(__file__).with_name("fsdp_worker.py")


def _torchrun(mode: str, out: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc-per-node", "2", "--master-port", str(port), str(WORKER), mode, str(out)]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    done = subprocess.run(cmd, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


@pytest.mark.slow
def test_sharded_run_stopped_and_resumed_matches_uninterrupted_run(tmp_path):
    _torchrun("first", tmp_path)  # 6 steps straight; then 3 steps, checkpoint, stop
    checkpoint = latest_checkpoint(tmp_path)
    assert checkpoint is not None and checkpoint.name == "step_00000003"
    assert not list(checkpoint.glob("*.pt")) and not list(checkpoint.glob("*.bin"))  # nothing pickled

    weights = load_weights(checkpoint / "model.safetensors")
    # whole tensors, not one process's shard; the frozen first layer is left out
    assert {k: tuple(v.shape) for k, v in weights.items()} == {
        "2.weight": (16, 16), "2.bias": (16,), "4.weight": (3, 16), "4.bias": (3,),
    }  # fmt: skip
    optimizer = json.loads((checkpoint / "optimizer.json").read_text())
    assert set(optimizer["state"]) == set(weights)  # Adam moments of every trainable weight, by name

    _torchrun("resume", tmp_path)  # fresh processes, fresh shards, 3 more steps
    uninterrupted = load_weights(tmp_path / "uninterrupted.safetensors")
    resumed = load_weights(tmp_path / "resumed.safetensors")
    assert set(resumed) == set(uninterrupted)
    differ = [k for k in uninterrupted if not torch.equal(uninterrupted[k], resumed[k])]
    assert not differ, f"resumed run differs from the uninterrupted one on {differ}"
