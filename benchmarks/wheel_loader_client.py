"""Closed-loop wheel loader through the policy service: per-step latency and success, as JSON.

Packages an exported wheel-loader bundle into a throwaway BENTOML_HOME, starts ``bentoml serve``
(or ``librobot serve-grpc`` with ``--transport grpc``) on loopback and runs
``examples/wheel_loader/client.py`` against it: the simulator renders both cameras, each chunk is
one ``act`` request. ``--compare-async`` runs the episodes twice at the 10 Hz control rate,
synchronous calls then ``AsyncPolicyClient``, and reports how evenly each sent its actions.

    librobot export --policy outputs/wheel_loader_groot
    python benchmarks/wheel_loader_client.py --policy outputs/wheel_loader_groot --episodes 3
    python benchmarks/wheel_loader_client.py --policy outputs/wheel_loader_groot --transport grpc --compare-async
"""

from __future__ import annotations

import argparse
import functools
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
    parser.add_argument("--transport", default="http", choices=["http", "grpc"])
    parser.add_argument("--compare-async", action="store_true", help="sync vs async client at the control rate")
    parser.add_argument("--out", default=None, help="default benchmarks/results/wheel_loader_client[_async].json")
    args = parser.parse_args()
    args.out = args.out or (
        "benchmarks/results/wheel_loader_client_async.json"
        if args.compare_async
        else "benchmarks/results/wheel_loader_client.json"
    )

    from client import run_client
    from grpc_latency import start_grpc_server
    from service_latency import package_into, start_server

    if not (Path(args.policy) / "onnx" / "policy.onnx").is_file():
        raise SystemExit(
            f"{args.policy}/onnx/policy.onnx not found: run `librobot export --policy {args.policy}` first"
        )
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        if args.transport == "grpc":
            _, env = package_into(args.policy, args.runtime, args.threads, home)
            proc, target = start_grpc_server(env)
            url = f"grpc://{target}"
        else:
            proc, url = start_server(args.policy, args.runtime, args.threads, home)
        startup_s = time.perf_counter() - started
        try:
            run = functools.partial(run_client, url, args.episodes, args.seed, args.execute_steps, args.max_steps)
            if args.compare_async:
                sync, asynchronous = run(realtime=True), run(use_async=True)
                keys = ("success_rate", "mean_delivered_kg", "step_ms", "request_ms", "period_ms", "jitter_ms")
                report = {
                    "sync": sync,
                    "async": asynchronous,
                    "summary": {
                        mode: {k: r.get(k) for k in keys} for mode, r in (("sync", sync), ("async", asynchronous))
                    },
                }
                report["summary"]["async"]["safe_steps"] = asynchronous["safe_steps"]
            else:
                report = run()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    report.update(
        {
            "policy": str(Path(args.policy).resolve()),
            "runtime": args.runtime,
            "transport": args.transport,
            "ort_threads": args.threads,
            "server_startup_s": round(startup_s, 1),
            # 2 cores shared with other work: wall latencies are pessimistic; the load says how much
            "machine": {**machine_info(), "load_avg_before": load},
        }
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if args.compare_async:
        print(json.dumps(report["summary"]))
    else:
        print(json.dumps({k: report[k] for k in ("success_rate", "mean_delivered_kg", "step_ms", "request_ms")}))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
