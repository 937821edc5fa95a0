"""Closed-loop wheel loader through the policy service: per-step latency and success, as JSON.

Packages an exported wheel-loader bundle into a throwaway BENTOML_HOME, starts ``bentoml serve`` on
loopback (the service latency benchmark's helper) and runs ``examples/wheel_loader/client.py``
against it: the simulator renders both cameras, each chunk is one HTTP ``act`` request.

    librobot export --policy outputs/wheel_loader_groot
    python benchmarks/wheel_loader_client.py --policy outputs/wheel_loader_groot --episodes 3
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from librobot.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "examples" / "wheel_loader")]


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="exported policy bundle (librobot export)")
    parser.add_argument("--runtime", default="onnx", choices=["onnx", "onnx-int8"])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--execute-steps", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads in the server")
    parser.add_argument("--out", default="benchmarks/results/wheel_loader_client.json")
    args = parser.parse_args()

    from client import run_client
    from service_latency import start_server

    if not (Path(args.policy) / "onnx" / "policy.onnx").is_file():
        raise SystemExit(
            f"{args.policy}/onnx/policy.onnx not found: run `librobot export --policy {args.policy}` first"
        )
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        proc, url = start_server(args.policy, args.runtime, args.threads, home)
        startup_s = time.perf_counter() - started
        try:
            report = run_client(url, args.episodes, args.seed, args.execute_steps, args.max_steps)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    report.update(
        {
            "policy": str(Path(args.policy).resolve()),
            "runtime": args.runtime,
            "ort_threads": args.threads,
            "server_startup_s": round(startup_s, 1),
            # 2 cores shared with other work: wall latencies are pessimistic; the load says how much
            "machine": {**machine_info(), "load_avg_before": load},
        }
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("success_rate", "mean_delivered_kg", "step_ms", "request_ms")}))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
