"""One process of the 2-process DDP test: trains the tiny experiment, then saves what it ended with.

Run by ``accelerate launch --multi_gpu --num_processes 2 ddp_worker.py CONFIG OUTPUT`` (on a CPU-only
machine accelerate's launcher starts the processes and the Trainer joins them over gloo), and by two
``torchrun --nnodes 2`` agents in test_torchrun_nodes.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from librobot.checkpoint import save_weights
from librobot.config import load_config
from librobot.training.callbacks import Callback
from librobot.training.run import train

torch.set_num_threads(1)


class SaveRankWeights(Callback):
    name = "save_rank_weights"

    def __init__(self, out: Path):
        self.out = out

    def on_train_end(self, trainer) -> None:
        rank = trainer.accelerator.process_index
        save_weights(trainer.unwrapped_model, self.out / f"rank{rank}.safetensors")
        info = {
            "num_processes": trainer.accelerator.num_processes,
            "distributed_type": str(trainer.accelerator.distributed_type),
            "step": trainer.step,
            "node_rank": int(os.environ.get("GROUP_RANK", "0")),  # torchrun's node rank
        }
        (self.out / f"rank{rank}.json").write_text(json.dumps(info))


if __name__ == "__main__":
    config, out = Path(sys.argv[1]), Path(sys.argv[2])  # the test saves the tiny experiment's config
    out.mkdir(parents=True, exist_ok=True)
    train(load_config(config), out / "bundle", callbacks=[SaveRankWeights(out)])
