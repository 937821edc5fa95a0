"""One process of the 2-process DDP test: trains the tiny experiment, then saves what it ended with.

Run by ``accelerate launch --multi_gpu --num_processes 2 ddp_worker.py DATASET OUTPUT`` (on a CPU-only
machine accelerate's launcher starts the processes and the Trainer joins them over gloo), and by two
``torchrun --nnodes 2`` agents in test_torchrun_nodes.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
torch.set_num_threads(1)

from tiny_run import tiny_config  # noqa: E402

from librobot.checkpoint import save_weights  # noqa: E402
from librobot.training import train  # noqa: E402
from librobot.training.callbacks import Callback  # noqa: E402


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
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    cfg = tiny_config(dataset, max_steps=3, checkpoint_every=0, val_every=3, ema_decay="null")
    train(cfg, out / "bundle", callbacks=[SaveRankWeights(out)])
