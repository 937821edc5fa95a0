"""Contract: under torchrun's multi-node environment (what the Kubeflow Trainer's torch runtime starts on
every node) the training processes join one process group the way they do under `accelerate launch`.

Two "nodes" on this machine: two `torchrun --nnodes 2 --nproc-per-node 1` agents that meet at a c10d
rendezvous on localhost, each running the training entry point (gloo on CPU).
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
from tests.helpers.tiny_run import worker_config

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_torchrun_nodes_train_in_sync_and_write_one_bundle(tiny_dataset, tmp_path):
    config = worker_config(tiny_dataset, tmp_path)
    torchrun = Path(sys.executable).with_name("torchrun")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)  # the agents set these; nothing may leak in from the test process
    nodes = [
        subprocess.Popen(
            [
                str(torchrun),
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--node-rank",
                str(rank),
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "librobot-test",
                "--max-restarts",
                "0",
                str(WORKER),
                str(config),
                str(tmp_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    logs = []
    for node in nodes:
        try:
            logs.append(node.communicate(timeout=300)[0])
        finally:
            node.kill()
    assert all(node.returncode == 0 for node in nodes), "\n---\n".join(log[-3000:] for log in logs)

    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(i["num_processes"] == 2 and i["distributed_type"].endswith("MULTI_CPU") for i in infos)
    assert all(i["step"] == 3 for i in infos)
    assert sorted(i["node_rank"] for i in infos) == [0, 1]  # one process on each "node"
    w0 = load_weights(tmp_path / "rank0.safetensors")
    w1 = load_weights(tmp_path / "rank1.safetensors")
    differ = [k for k in w0 if not torch.equal(w0[k], w1[k])]
    assert not differ, f"nodes disagree on {differ[:5]}"
    # exactly one bundle, written by global rank 0, recording the two processes that trained it
    bundles = [p.parent for p in tmp_path.rglob("model.safetensors") if "checkpoints" not in p.parts]
    assert bundles == [tmp_path / "bundle"]
    assert json.loads((tmp_path / "bundle" / "metadata.json").read_text())["train_metrics"]["num_processes"] == 2
    bundle = load_weights(tmp_path / "bundle" / "model.safetensors")
    assert all(torch.equal(bundle[k], w0[k]) for k in w0)
