"""Where a launched process sits: the variables torchrun sets, whoever started it.

``accelerate launch`` (one machine), ``torchrun --nnodes N`` and the Kubeflow Trainer's torch runtime
(which hands torchrun ``PET_NNODES``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR``, ...) all start the
training processes through torch's elastic agent, which exports the same variables. accelerate's
``Accelerator`` joins the process group from them, so ``librobot train`` needs no launcher-specific code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class LaunchedProcess:
    rank: int  # global rank
    world_size: int
    local_rank: int  # rank on this node
    local_world_size: int
    node_rank: int  # torchrun's GROUP_RANK
    master_addr: str | None
    master_port: str | None

    def describe(self) -> str:
        return (
            f"process {self.rank} of {self.world_size} (node {self.node_rank}, local rank {self.local_rank} of "
            f"{self.local_world_size}), rendezvous {self.master_addr}:{self.master_port}"
        )


def launched_rank() -> int | None:
    """This process's global rank when a launcher started it, else None."""
    value = os.environ.get("RANK")
    return int(value) if value not in (None, "") else None


def launched_process() -> LaunchedProcess | None:
    """The launcher's view of this process, or None when it runs on its own."""
    rank = launched_rank()
    if rank is None:
        return None
    env = os.environ
    return LaunchedProcess(
        rank=rank,
        world_size=int(env.get("WORLD_SIZE", "1")),
        local_rank=int(env.get("LOCAL_RANK", "0")),
        local_world_size=int(env.get("LOCAL_WORLD_SIZE", env.get("WORLD_SIZE", "1"))),
        node_rank=int(env.get("GROUP_RANK", env.get("NODE_RANK", "0"))),
        master_addr=env.get("MASTER_ADDR"),
        master_port=env.get("MASTER_PORT"),
    )
