"""Service latency (p50/p99) and throughput at 1, 8 and 32 concurrent clients vs the raw ORT call.

Packages the bundle into a throwaway BENTOML_HOME, starts `bentoml serve` on loopback, and sends
single-observation `act` requests from N client threads; the baseline is the same observation
through `Policy` (ONNX Runtime, same graph) in this process. Writes JSON.

    python benchmarks/service_latency.py --policy outputs/bundle --out benchmarks/results/service_latency.json
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from librobot.machine import machine_info, machine_line

BIN = Path(sys.executable).parent


def percentiles(ms: list[float]) -> dict:
    t = np.array(ms)
    return {"p50_ms": round(float(np.percentile(t, 50)), 3), "p99_ms": round(float(np.percentile(t, 99)), 3)}


def recorded(policy_dir: str, count: int):
    from librobot.bundle import load_bundle
    from librobot.inference.samples import recorded_observations

    rec = recorded_observations(load_bundle(policy_dir, with_model=False), count, seed=0)
    cams = load_bundle(policy_dir, with_model=False).cameras
    return [
        {
            "images": {cam: np.ascontiguousarray(np.moveaxis(rec.images[i, c], 0, -1)) for c, cam in enumerate(cams)},
            "state": rec.state[i],
            "instruction": rec.instructions[i],
        }
        for i in range(len(rec))
    ]


def encode(obs: dict, seed: int) -> dict:
    return {
        "images": {c: base64.b64encode(img.tobytes()).decode() for c, img in obs["images"].items()},
        "state": np.asarray(obs["state"]).tolist(),
        "instruction": obs["instruction"],
        "seed": seed,
    }


def package_into(policy_dir: str, runtime: str, threads: int, home: str) -> tuple[str, dict[str, str]]:
    """`librobot package` into the BentoML home ``home``; returns (tag, the environment to serve it with)."""
    env = {**os.environ, "BENTOML_HOME": home, "BENTOML_DO_NOT_TRACK": "true", "OMP_NUM_THREADS": str(threads)}
    env["LIBROBOT_ORT_THREADS"] = str(threads)
    cmd = [str(BIN / "librobot"), "package", "--policy", policy_dir, "--runtime", runtime]
    tag = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return tag, {**env, "LIBROBOT_MODEL_TAG": tag}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(policy_dir: str, runtime: str, threads: int, home: str) -> tuple[subprocess.Popen, str]:
    import httpx

    _, env = package_into(policy_dir, runtime, threads, home)
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "bentoml"),
            "serve",
            "librobot.serving.service:PolicyService",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("bentoml serve did not become ready in 180 s")


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--runtime", default="onnx-int8", choices=["onnx", "onnx-int8"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=64, help="requests per concurrency level")
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads, in the server and the baseline")
    parser.add_argument("--out", default="benchmarks/results/service_latency.json")
    args = parser.parse_args()

    from librobot.inference.policy import Policy

    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    observations = recorded(args.policy, args.requests)  # distinct frames: no repeated input is timed
    payloads = [encode(observations[i % len(observations)], seed=i) for i in range(args.requests)]
    policy = Policy.from_bundle(args.policy, runtime=args.runtime, threads=args.threads)
    for obs in observations[:3]:
        policy.act(obs, seed=0)
    raw = []
    for i in range(args.requests):
        started = time.perf_counter()
        policy.act(observations[i % len(observations)], seed=i)
        raw.append(1000 * (time.perf_counter() - started))
    report = {
        "policy": str(Path(args.policy).resolve()),
        "runtime": args.runtime,
        "threads": args.threads,
        "machine": machine,
        "raw_ort_call": {**percentiles(raw), "throughput_rps": round(1000 * len(raw) / sum(raw), 2)},
        "service": [],
    }
    print(json.dumps(report["raw_ort_call"]), flush=True)
    with tempfile.TemporaryDirectory() as home:
        proc, url = start_server(args.policy, args.runtime, args.threads, home)
        try:
            with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=64)) as client:

                def call(payload: dict) -> float:
                    started = time.perf_counter()
                    resp = client.post(f"{url}/act", json={"observations": [payload]})
                    resp.raise_for_status()
                    return 1000 * (time.perf_counter() - started)

                for payload in payloads[:4]:
                    call(payload)
                for level in args.concurrency:
                    with ThreadPoolExecutor(level) as pool:
                        started = time.perf_counter()
                        ms = list(pool.map(call, payloads))
                        wall = time.perf_counter() - started
                    entry = {"concurrency": level, **percentiles(ms), "throughput_rps": round(len(ms) / wall, 2)}
                    report["service"].append(entry)
                    print(json.dumps(entry), flush=True)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
