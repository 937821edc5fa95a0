"""Training-style random access with images against the raw video decode rate of the same files.

    python benchmarks/data_loading.py --path data/default --out outputs/bench_data_loading.json

raw decode: every episode of every camera decoded once, sequentially (frames/s).
loader: shuffled DataLoader over all frames, batch 32, with 1 and 2 workers; the first epoch decodes
(each worker caches the episodes it decoded), the second reads from the caches. Samples/s of the
first epoch above the raw decode rate means decode is not what limits training.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from librobot.data.dataset import ChunkedDataset, collate  # noqa: E402
from librobot.data.lerobot_v3 import LeRobotV3Reader  # noqa: E402
from librobot.machine import machine_info  # noqa: E402


def raw_decode_rate(path: str) -> dict:
    reader = LeRobotV3Reader(path)
    frames = 0
    start = time.perf_counter()
    for ep in range(reader.num_episodes):
        for key in reader.camera_keys:
            frames += len(reader.decode_episode(ep, key))
    seconds = time.perf_counter() - start
    reader.close()
    return {"frames": frames, "seconds": round(seconds, 3), "frames_per_s": round(frames / seconds, 1)}


def loader_rate(path: str, workers: int, batch_size: int, epochs: int, horizon: int) -> dict:
    ds = ChunkedDataset(path, split="all", action_horizon=horizon)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )
    out = []
    for epoch in range(epochs):
        n = 0
        start = time.perf_counter()
        for batch in loader:
            n += len(batch["index"])
        seconds = time.perf_counter() - start
        out.append({"epoch": epoch, "samples": n, "seconds": round(seconds, 3), "samples_per_s": round(n / seconds, 1)})
    return {"workers": workers, "batch_size": batch_size, "epochs": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="data/default")
    parser.add_argument("--out", default="outputs/bench_data_loading.json")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--action-horizon", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)  # 2 shared cores: workers plus torch threads must not oversubscribe
    info = LeRobotV3Reader(args.path).info
    result = {
        "dataset": args.path,
        "frames": info["total_frames"],
        "episodes": info["total_episodes"],
        "cameras": [k for k, v in info["features"].items() if v["dtype"] == "video"],
        "codec": [v["info"]["video.codec"] for v in info["features"].values() if v["dtype"] == "video"],
        "torch_threads": torch.get_num_threads(),
        "machine": machine_info(),
        "raw_decode": raw_decode_rate(args.path),
        "loader": [loader_rate(args.path, w, args.batch_size, args.epochs, args.action_horizon) for w in args.workers],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
