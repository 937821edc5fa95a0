"""gRPC server latency (p50/p99) and throughput at 1, 8 and 32 concurrent clients vs the raw ORT call.

Packages the bundle into a throwaway BENTOML_HOME, starts `librobot serve-grpc` on loopback and
sends single-observation unary `Act` calls from N client threads (one channel each, as N robots
would have); also one robot streaming observations over `ActStream`, one at a time. The baseline is
the same observations through `Policy` (ONNX Runtime, same graph) in this process. `--http` runs
the BentoML service the same way in the same run, for a side-by-side. Writes JSON.

    python benchmarks/grpc_latency.py --policy outputs/bundle --requests 64 --http
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from librobot.machine import machine_info, machine_line

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_latency import BIN, encode, free_port, package_into, percentiles, recorded, start_server  # noqa: E402


def start_grpc_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "librobot"), "serve-grpc", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=2).status == 1:
                    return proc, target
            except grpc.RpcError:
                time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("librobot serve-grpc did not report SERVING in 180 s")


def measure_levels(call, payloads: list, levels: list[int]) -> list[dict]:
    out = []
    for level in levels:
        with ThreadPoolExecutor(level) as pool:
            started = time.perf_counter()
            ms = list(pool.map(call, payloads))
            wall = time.perf_counter() - started
        entry = {"concurrency": level, **percentiles(ms), "throughput_rps": round(len(ms) / wall, 2)}
        out.append(entry)
        print(json.dumps(entry), flush=True)
    return out


def grpc_unary(target: str, messages: list, levels: list[int]) -> list[dict]:
    import grpc

    from librobot.serving.proto import policy_pb2 as pb
    from librobot.serving.proto import policy_rpc

    local = threading.local()  # one channel per client thread: N robots, N connections
    channels = []

    def call(msg) -> float:
        if not hasattr(local, "stub"):
            local.channel = grpc.insecure_channel(target)
            channels.append(local.channel)
            local.stub = policy_rpc.PolicyStub(local.channel)
        started = time.perf_counter()
        local.stub.Act(pb.ActRequest(observations=[msg]), timeout=120)
        return 1000 * (time.perf_counter() - started)

    try:
        for msg in messages[:4]:
            call(msg)
        return measure_levels(call, messages, levels)
    finally:
        for channel in channels:
            channel.close()


def grpc_stream(target: str, messages: list) -> dict:
    """One robot on ActStream: send an observation, wait for its chunk, send the next."""
    import grpc

    from librobot.serving.proto import policy_pb2 as pb
    from librobot.serving.proto import policy_rpc

    outbox: queue.Queue = queue.Queue()

    def requests():
        while (item := outbox.get()) is not None:
            yield item

    ms = []
    with grpc.insecure_channel(target) as channel:
        replies = policy_rpc.PolicyStub(channel).ActStream(requests(), timeout=600)
        for i, msg in enumerate(messages):
            started = time.perf_counter()
            outbox.put(pb.StreamRequest(id=i, observation=msg))
            reply = next(replies)
            if reply.id != i or reply.WhichOneof("result") != "chunk":
                raise RuntimeError(f"ActStream answered {reply} for observation {i}")
            ms.append(1000 * (time.perf_counter() - started))
        outbox.put(None)
    entry = {"stream_clients": 1, **percentiles(ms[4:]), "throughput_rps": round(1000 * len(ms[4:]) / sum(ms[4:]), 2)}
    print(json.dumps(entry), flush=True)
    return entry


def http_levels(url: str, payloads: list, levels: list[int]) -> list[dict]:
    import httpx

    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=64)) as client:

        def call(payload: dict) -> float:
            started = time.perf_counter()
            client.post(f"{url}/act", json={"observations": [payload]}).raise_for_status()
            return 1000 * (time.perf_counter() - started)

        for payload in payloads[:4]:
            call(payload)
        return measure_levels(call, payloads, levels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="exported policy bundle (librobot export)")
    parser.add_argument("--runtime", default="onnx", choices=["onnx", "onnx-int8"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=64, help="requests per concurrency level")
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads, in the server and the baseline")
    parser.add_argument("--http", action="store_true", help="also the BentoML HTTP service, same observations")
    parser.add_argument("--out", default="benchmarks/results/grpc_latency.json")
    args = parser.parse_args()

    from librobot.inference.policy import Policy
    from librobot.serving.grpc_messages import observation_message

    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    observations = recorded(args.policy, args.requests)  # distinct frames: no repeated input is timed
    picked = [observations[i % len(observations)] for i in range(args.requests)]
    messages = [observation_message(obs, seed=i) for i, obs in enumerate(picked)]
    policy = Policy.from_bundle(args.policy, runtime=args.runtime, threads=args.threads)
    for obs in observations[:3]:
        policy.act(obs, seed=0)
    raw = []
    for i, obs in enumerate(picked):
        started = time.perf_counter()
        policy.act(obs, seed=i)
        raw.append(1000 * (time.perf_counter() - started))
    del policy
    report = {
        "policy": str(Path(args.policy).resolve()),
        "runtime": args.runtime,
        "threads": args.threads,
        "requests_per_level": args.requests,
        "machine": machine,
        "raw_ort_call": {**percentiles(raw), "throughput_rps": round(1000 * len(raw) / sum(raw), 2)},
    }
    print(json.dumps(report["raw_ort_call"]), flush=True)
    with tempfile.TemporaryDirectory() as home:
        _, env = package_into(args.policy, args.runtime, args.threads, home)
        env.pop("LIBROBOT_API_TOKEN", None)
        proc, target = start_grpc_server(env)
        try:
            report["grpc"] = grpc_unary(target, messages, args.concurrency)
            report["grpc_stream"] = grpc_stream(target, messages)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        if args.http:
            proc, url = start_server(args.policy, args.runtime, args.threads, home)
            try:
                payloads = [encode(obs, seed=i) for i, obs in enumerate(picked)]
                report["http"] = http_levels(url, payloads, args.concurrency)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
