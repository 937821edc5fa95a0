"""Where a launched process sits: the variables torchrun sets, whoever started it.

``accelerate launch`` (one machine), ``torchrun --nnodes N`` and the Kubeflow Trainer's torch runtime
(which hands torchrun ``PET_NNODES``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR``, ...) all start the
training processes through torch's elastic agent, which exports the same variables. accelerate's
``Accelerator`` joins the process group from them, so ``librobot train`` needs no launcher-specific code.
``accelerate_train_command`` is the ``accelerate launch`` line that starts them, for ``librobot train
--accelerate-config`` and the pipelines' train step alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from librobot.config import config_dir

# the multi-process launcher's entry point: `python -m librobot.cli` (librobot/cli/__main__.py)
CLI_MODULE = "librobot.cli"
ACCELERATE_CONFIGS = "accelerate"  # configs/accelerate/<name>.yaml: ddp, fsdp, deepspeed_zero2, ...


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


def accelerate_train_command(
    config: str | Path,
    output: str | Path,
    num_processes: int | None,
    launch_args: list[str] | tuple[str, ...] = (),
    train_args: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """``accelerate launch ... -m librobot.cli train`` for ``num_processes`` processes (one per GPU).

    The Kubeflow train component runs exactly this; ``launch_args`` go to ``accelerate launch``
    before the script (e.g. ``["--cpu"]`` in tests, ``["--config_file", path]``); ``num_processes``
    None leaves the count to the accelerate config. ``train_args`` follow ``train`` (``--resume``, overrides).
    """
    count = ["--num_processes", str(num_processes)] if num_processes is not None else []
    launch = ["accelerate", "launch", *launch_args, *count, "-m", CLI_MODULE]
    return [*launch, "train", "--config", str(config), "--output", str(output), *train_args]


def accelerate_config_path(name: str) -> Path:
    """``configs/accelerate/<name>.yaml`` (or ``name`` itself when it is a YAML file)."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name)
    folder = config_dir() / ACCELERATE_CONFIGS
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ValueError(f"--accelerate-config {name!r}: no {path}; choose one of {known} or give a YAML file")
    return path
