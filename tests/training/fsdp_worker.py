"""One process of the FSDP checkpoint test: ``torchrun --nproc-per-node 2 fsdp_worker.py MODE OUTPUT``.

The model is sharded with torch's ``fully_shard`` (FSDP2) over gloo on CPU, as accelerate shards it
on GPUs. MODE ``first`` trains 6 steps uninterrupted, then 3 steps of a second run that checkpoints
(full tensors, safetensors + JSON) and stops; MODE ``resume`` starts fresh processes, loads that
checkpoint into new shards and trains the remaining 3 steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp import fully_shard

from librobot.checkpoint import save_weights
from librobot.training.checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from librobot.training.sharding import (
    full_model_state,
    full_optimizer_state,
    load_full_model_state,
    load_full_optimizer_state,
)

STEPS = 6
torch.set_num_threads(1)


def build() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 3))
    model[0].requires_grad_(False)  # a frozen backbone, like the VLM: checkpoints leave it out
    for layer in (model[2], model[4]):
        fully_shard(layer)
    fully_shard(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    return model, optimizer


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: range) -> None:
    rank = dist.get_rank()
    for step in steps:
        g = torch.Generator().manual_seed(1000 + step)  # the global batch of this step; each rank its half
        x, y = torch.randn(8, 6, generator=g), torch.randn(8, 3, generator=g)
        loss = nn.functional.mse_loss(model(x[rank * 4 : rank * 4 + 4]), y[rank * 4 : rank * 4 + 4])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def trainable(model: nn.Module, state: dict) -> dict:
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    return {k: v for k, v in state.items() if k not in frozen}


def main(mode: str, out: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    if mode == "first":
        model, optimizer = build()
        train(model, optimizer, range(STEPS))
        state = full_model_state(model)
        if rank == 0:
            save_weights(state, out / "uninterrupted.safetensors")
        model, optimizer = build()
        train(model, optimizer, range(STEPS // 2))
        model_state, optimizer_state = full_model_state(model), full_optimizer_state(model, optimizer)
        if rank == 0:
            save_checkpoint(
                out, STEPS // 2, trainable(model, model_state), optimizer_state, {}, {}, [], {"step": STEPS // 2}
            )
    else:
        model, optimizer = build()
        state = load_checkpoint(latest_checkpoint(out))
        load_full_model_state(model, state["model"])
        load_full_optimizer_state(model, optimizer, state["optimizer"])
        train(model, optimizer, range(state["trainer"]["step"], STEPS))
        final = full_model_state(model)
        if rank == 0:
            save_weights(final, out / "resumed.safetensors")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
