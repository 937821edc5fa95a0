"""Action-chunk latency and peak memory: torch eager fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8.

The whole network on distinct observations: every call gets frames the policy has not seen (recorded
from the bundle's dataset with a fixed seed, the same frames for every runtime), so no feature cache
hit is counted that a robot would not get. Each runtime runs in a fresh subprocess so its peak RSS
is its own; the machine (CPU model, ISA flags, load) is printed and stored beside the figures.

    python benchmarks/inference_latency.py --policy outputs/bundle --out benchmarks/results/inference_latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from librobot.machine import machine_info, machine_line

RUNTIMES = ("torch", "onnx", "onnx-int8")
WARMUP = 3


def observation_pool(policy_dir: str, calls: int, batch: int, seed: int):
    """``calls * batch`` distinct observations recorded from the bundle's dataset, the same for every
    runtime and benchmark (a fixed seed): no call reuses a frame, so no feature cache hit is counted
    that a robot would not get."""
    from librobot.bundle import load_bundle
    from librobot.inference.samples import recorded_observations

    pool = recorded_observations(load_bundle(policy_dir, with_model=False), batch * calls, seed=seed)
    if len(pool) < batch * calls:
        raise SystemExit(f"the dataset has {len(pool)} frames; {calls} distinct calls of batch {batch} need more")
    return pool


def raw_observation(pool, call: int, batch: int, cameras: list[str]) -> dict:
    """Call ``call``'s observations from ``observation_pool`` as a robot sends them (images [H, W, 3])."""
    import numpy as np

    part = pool.slice(call * batch, (call + 1) * batch)
    return {
        "images": {cam: np.moveaxis(part.images[:, c], 1, -1) for c, cam in enumerate(cameras)},
        "state": part.state,
        "instruction": part.instructions,
    }


def measure(policy_dir: str, runtime: str, batch: int, repeats: int, threads: int, seed: int) -> dict:
    """Runs inside the child process."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from librobot.inference.policy import Policy

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    policy = Policy.from_bundle(policy_dir, runtime=runtime, threads=threads)
    calls = WARMUP + repeats
    pool = observation_pool(policy_dir, calls, batch, seed)

    def observation(call: int) -> dict:
        return raw_observation(pool, call, batch, policy.spec.cameras)

    for call in range(WARMUP):
        policy.act(observation(call), seed=call)
    times = []
    for call in range(WARMUP, calls):
        obs = observation(call)
        started = time.perf_counter()
        policy.act(obs, seed=call)
        times.append(1000 * (time.perf_counter() - started))
    t = np.array(times)
    return {
        "runtime": runtime,
        "batch": batch,
        "median_ms": round(float(np.median(t)), 3),
        "p90_ms": round(float(np.percentile(t, 90)), 3),
        "mean_ms": round(float(t.mean()), 3),
        "per_sample_median_ms": round(float(np.median(t)) / batch, 3),
        "repeats": repeats,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_load_mb": round(rss_start / 1024, 1),
        # a graph that takes the instruction's features runs the text graph once per instruction (cached)
        "text_graph_calls": text.graph_calls if (text := getattr(policy.runtime, "text", None)) else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="an exported bundle (onnx/policy.onnx and policy.int8.onnx)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch and ORT intra-op threads (recorded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/inference_latency.json")
    parser.add_argument("--child", nargs=2, metavar=("RUNTIME", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.policy, args.child[0], int(args.child[1]), args.repeats, args.threads, args.seed)
        print(json.dumps(result))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    results = []
    for batch in args.batches:
        for runtime in args.runtimes:
            cmd = [sys.executable, __file__, "--policy", args.policy, "--repeats", str(args.repeats)]
            cmd += ["--threads", str(args.threads), "--seed", str(args.seed), "--child", runtime, str(batch)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    report = {
        "policy": str(Path(args.policy).resolve()),
        "threads": args.threads,
        "machine": machine,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "observations": "distinct frames from the bundle's dataset on every call, the same for every runtime; "
        "the instruction repeats (the dataset's tasks), so a split export's text graph runs once per task",
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
