"""Training throughput and peak memory on a GPU: float32 against bf16, for the default experiment and
a larger transformers VLM built from config (random weights, trained end to end).

    python benchmarks/gpu_training.py                      # on a CUDA machine -> benchmarks/results/gpu_training.json
    python benchmarks/gpu_training.py --device cpu --tiny --out outputs/bench_gpu_training_cpu.json   # a smoke run

Each case runs `librobot.training.run.train` (the real Trainer, data loading and all) for --steps
optimizer steps and times every step after --warmup; samples/s is batch_size over the median step
time. Peak memory: torch.cuda.max_memory_allocated on a GPU, the process's peak RSS on CPU. On a GPU
the input-pipeline settings are on (data.num_workers, pin_memory, non_blocking, persistent workers).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from librobot.config import load_config  # noqa: E402
from librobot.machine import machine_info, machine_line  # noqa: E402
from librobot.training.callbacks import Callback  # noqa: E402
from librobot.training.run import train  # noqa: E402

# a VLM that does not fit the CPU budget: Qwen2-VL's architecture from config, trained with the head
LARGE_VLM = [
    "model/vlm=qwen2_vl", "model.vlm.from_config=true", "model.vlm.freeze=false", "model.vlm.image_size=224",
    "model.vlm.hidden_size=1024", "model.vlm.num_layers=12", "model.vlm.num_heads=16",
    "model.vlm.vision_hidden_size=768", "model.vlm.vision_layers=12", "model.vlm.vocab_size=32000",
]  # fmt: skip
TINY_VLM = [
    "model/vlm=qwen2_vl", "model.vlm.from_config=true", "model.vlm.freeze=false", "model.vlm.image_size=56",
    "model.vlm.hidden_size=64", "model.vlm.num_layers=2", "model.vlm.num_heads=4",
    "model.vlm.vision_hidden_size=32", "model.vlm.vision_layers=2", "model.vlm.vocab_size=1024",
]  # fmt: skip


class StepTimer(Callback):
    """Wall time of every optimizer step (the GPU's queue drained first, so the time is the step's)."""

    name = "step_timer"

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last = 0.0

    def on_train_start(self, trainer) -> None:
        self._last = self._now()

    def on_step_end(self, trainer) -> None:
        now = self._now()
        self.times.append(now - self._last)
        self._last = now

    @staticmethod
    def _now() -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()


def run_case(name: str, overrides: list[str], precision: str, args: argparse.Namespace) -> dict:
    cuda = args.device == "cuda"
    settings = [
        f"data.path={args.data}", f"training.mixed_precision={precision}", f"training.max_steps={args.steps}",
        f"training.batch_size={args.batch_size}", "training.val_every=0", "training.checkpoint_every=0",
        "training.tracking=false", "training.progress=false", "training.ema_decay=null",
        f"training.cpu={str(not cuda).lower()}",
    ]  # fmt: skip
    if cuda:
        settings += [
            f"data.num_workers={args.workers}", "training.pin_memory=true", "training.non_blocking=true",
            f"training.persistent_workers={str(args.workers > 0).lower()}", "training.num_threads=null",
        ]  # fmt: skip
    cfg = load_config(args.experiment, [*overrides, *settings])
    timer = StepTimer()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as out:
        train(cfg, Path(out) / "run", callbacks=[timer])
    steps = timer.times[args.warmup :] or timer.times
    median = statistics.median(steps)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    )
    result = {
        "case": name,
        "precision": precision,
        "batch_size": args.batch_size,
        "timed_steps": len(steps),
        "median_step_s": round(median, 4),
        "samples_per_s": round(args.batch_size / median, 1),
        "peak_memory_mib": round(peak, 1),
        "peak_memory_kind": "cuda max_memory_allocated" if cuda else "process peak RSS (cumulative over cases)",
    }
    print(
        f"{name:>14} {precision:>4}: {result['samples_per_s']:>8} samples/s (median of {len(steps)} steps), "
        f"peak {result['peak_memory_mib']:.0f} MiB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--experiment", default="experiment/default")
    parser.add_argument("--data", default="data/default")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10, help="steps left out of the median (compile, caches)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers on a GPU machine")
    parser.add_argument("--tiny", action="store_true", help="small VLM, 4 steps, batch 8: a smoke run on CPU")
    parser.add_argument("--out", default="benchmarks/results/gpu_training.json")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here (use --device cpu --tiny for a smoke run)")
    if args.device == "cpu" and Path(args.out).name.startswith("gpu_"):
        parser.error("--device cpu: write CPU figures elsewhere than benchmarks/results/gpu_*.json (--out)")
    if args.tiny:
        args.steps, args.warmup, args.batch_size = 4, 1, 8
    if args.device == "cpu":
        torch.set_num_threads(1)

    info = machine_info()
    if args.device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    print(machine_line(info), "|", info.get("gpu", "cpu"))
    cases = [("default", []), ("qwen2_vl_large", TINY_VLM if args.tiny else LARGE_VLM)]
    results = [run_case(name, over, precision, args) for name, over in cases for precision in ("no", "bf16")]
    for name, _ in cases:
        fp32, bf16 = (r for r in results if r["case"] == name)
        print(f"{name}: bf16 / fp32 throughput x{bf16['samples_per_s'] / fp32['samples_per_s']:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": info, "device": args.device, "experiment": args.experiment, "results": results}
    out.write_text(json.dumps(record, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
