"""Service latency (p50/p99) and throughput at 1, 8 and 32 concurrent clients vs the raw ORT call,
beside the ceiling the graph itself allows (samples/s at batch 1, 8, 16, 32) and where service time goes.

Packages the bundle into a throwaway BENTOML_HOME, starts `bentoml serve` on loopback, and sends
single-observation `act` requests (bodies encoded once, before timing) from N client threads; the
baselines are the same observations through `Policy` (ONNX Runtime, same graph) in this process:
back to back before and after the service, and taking turns with one client's requests (a ratio
that load drifting on a shared machine cannot skew). Distinct recorded observations everywhere: no
input is timed twice. Per client level it reads the server's `/metrics` (rows per model call,
model-thread busy share and CPU, queue wait) and the CPU seconds the server and the clients spent
per request. `--batching` compares batch caps and windows in one run, `--rounds` repeats every
setting, taking turns, and pools the rounds. Writes JSON with the machine.

    python benchmarks/service_latency.py --policy outputs/bundle --runtime onnx --requests 256 --rounds 2 \
        --batching default 64 8 16:2 --out benchmarks/results/service_latency.json
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from librobot.machine import machine_info, machine_line

BIN = Path(sys.executable).parent
GRAPH_BATCHES = (1, 8, 16, 32)
# the service's histograms (service.BatchMetrics); each level reads their _sum and _count before and after
METRICS = (
    "librobot_batch_rows",
    "librobot_model_call_seconds",
    "librobot_model_cpu_seconds",
    "librobot_queue_wait_seconds",
)


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


def median_ms(fn: Callable[[int], object], count: int) -> float:
    times = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 4)


def graph_inputs(group: list) -> tuple:
    """Prepared observations joined as the service's model call joins them."""
    noise = None if group[0].noise is None else np.concatenate([o.noise for o in group])
    images = np.concatenate([o.images for o in group])
    return images, np.concatenate([o.normalized_state for o in group]), [o.instruction for o in group], noise


def graph_ceiling(policy, prepared: list) -> dict:
    """The graph call alone (tokenizer, cached text features, ORT session) on distinct observations at
    each batch size: samples/s is the most any batching of this graph serves on this CPU with one model
    thread. The sizes take turns (each round runs 32 samples at every size) so load drift hits them
    alike; CPU ms per sample is the model thread's own clock, which other processes inflate less."""
    top = max(GRAPH_BATCHES)
    rounds = len(prepared) // top
    wall: dict[int, list[float]] = {b: [] for b in GRAPH_BATCHES}
    cpu: dict[int, list[float]] = {b: [] for b in GRAPH_BATCHES}
    for batch in GRAPH_BATCHES:  # each shape's first run allocates; not timed
        images, state, instructions, noise = graph_inputs(prepared[:batch])
        policy.predict_normalized(images, state, instructions, noise=noise)
    for r in range(rounds):
        for batch in GRAPH_BATCHES:
            for k in range(top // batch):
                start = r * top + k * batch  # every sample once per batch size
                images, state, instructions, noise = graph_inputs(prepared[start : start + batch])
                started, started_cpu = time.perf_counter(), time.thread_time()
                policy.predict_normalized(images, state, instructions, noise=noise)
                wall[batch].append(time.perf_counter() - started)
                cpu[batch].append((time.thread_time() - started_cpu) / batch)
    out: dict = {}
    for batch in GRAPH_BATCHES:
        out[f"batch_{batch}"] = {
            "calls": len(wall[batch]),
            "median_ms": round(1000 * float(np.median(wall[batch])), 3),
            "samples_per_s": round(batch * len(wall[batch]) / sum(wall[batch]), 2),
            "cpu_ms_per_sample": round(1000 * float(np.median(cpu[batch])), 3),
        }
        print(f"graph batch {batch}: {json.dumps(out[f'batch_{batch}'])}", flush=True)
    out["ratio_32_vs_1"] = round(out["batch_32"]["samples_per_s"] / out["batch_1"]["samples_per_s"], 3)
    return out


def stages(policy, bodies: list[bytes]) -> dict:
    """Per-request work of the service outside the model, in process, median ms: the body's JSON and
    pydantic validation with the base64 decode and observation checks, then normalization and noise
    (``prepare``), then the answer: the ready JSON response ``act`` returns, and for comparison what
    BentoML's own output path costs for the same chunk (what ``act`` returned before: it builds the
    output model's JSON schema on every call to pick a media type, and streams the body chunked)."""
    import asyncio

    from _bentoml_impl.serde import ALL_SERDE
    from pydantic import BaseModel
    from starlette.responses import JSONResponse

    from librobot.serving.payload import ActionChunk, Observation
    from librobot.serving.served_policy import prepare, run_prepared
    from librobot.serving.service import PolicyService

    class Body(BaseModel):  # the shape BentoML validates an `act` body into
        observations: list[Observation]

    parsed = [Body.model_validate_json(b) for b in bodies]
    checked = [p.observations[0].check() for p in parsed]
    prepared = [prepare(policy, c, i) for i, c in enumerate(checked)]
    chunk = run_prepared(policy, prepared[:1])
    output, serde = PolicyService.apis["act"].output_spec, ALL_SERDE["application/json"]()

    n = len(bodies)

    async def bentoml_answers() -> list[float]:  # one event loop for all: its start-up is not the answer's cost
        times = []
        for _ in range(n):
            started = time.perf_counter()
            response = await output.to_http_response([ActionChunk(actions=c.tolist()) for c in chunk], serde)
            b"".join(bytes(part) for part in response.body_iterator)
            times.append(time.perf_counter() - started)
        return times

    return {
        "parse_validate_decode_ms": median_ms(lambda i: Body.model_validate_json(bodies[i]), n),
        "prepare_ms": median_ms(lambda i: prepare(policy, checked[i], i), n),
        "encode_answer_ms": median_ms(lambda i: JSONResponse([{"actions": c.tolist()} for c in chunk]), n),
        "encode_answer_bentoml_ms": round(1000 * float(np.median(asyncio.run(bentoml_answers()))), 4),
        "request_bytes": int(np.median([len(b) for b in bodies])),
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


def start_server(
    policy_dir: str, runtime: str, threads: int, home: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    import httpx

    _, env = package_into(policy_dir, runtime, threads, home)
    env.update(extra_env or {})
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


def scrape(client, url: str) -> dict[str, float]:
    """``{name_sum: x, name_count: n, name_total: x}`` of the service's metrics (summed over label sets)."""
    totals: dict[str, float] = {}
    for line in client.get(f"{url}/metrics").text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        name = key.split("{")[0]
        if name.startswith(METRICS) and name.endswith(("_sum", "_count", "_total")):
            totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its children (the server and its worker)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def level_profile(runs: list[dict], metrics: dict[str, float]) -> dict:
    """Where one client level's time went, over its rounds: the server's histograms and the CPU clocks."""
    wall = sum(r["wall"] for r in runs)
    requests = sum(len(r["ms"]) for r in runs)
    server_cpu, client_cpu = sum(r["server_cpu"] for r in runs), sum(r["client_cpu"] for r in runs)
    calls, rows = metrics.get("librobot_batch_rows_count", 0.0), metrics.get("librobot_batch_rows_sum", 0.0)
    model_cpu = metrics.get("librobot_model_cpu_seconds_total", 0.0)
    model_s = metrics.get("librobot_model_call_seconds_sum", 0.0)
    waits, wait_s = (
        metrics.get("librobot_queue_wait_seconds_count", 0.0),
        metrics.get("librobot_queue_wait_seconds_sum", 0.0),
    )
    return {
        "model_calls": int(calls),
        "mean_rows_per_call": round(rows / calls, 2) if calls else None,
        "model_busy_share": round(model_s / wall, 3),
        "mean_model_call_ms": round(1000 * model_s / calls, 3) if calls else None,
        "mean_queue_wait_ms": round(1000 * wait_s / waits, 3) if waits else None,
        "model_cpu_ms_per_row": round(1000 * model_cpu / rows, 3) if rows else None,
        "server_cpu_ms_per_request": round(1000 * server_cpu / requests, 3),
        # HTTP, BentoML's middlewares, validation, batching: the server's CPU outside the model thread's calls
        "server_cpu_outside_model_ms_per_request": round(1000 * (server_cpu - model_cpu) / requests, 3),
        "client_cpu_ms_per_request": round(1000 * client_cpu / requests, 3),
        "cores_busy": round((server_cpu + client_cpu) / wall, 2),
    }


def serve_round(
    args, bodies: list[bytes], batching: tuple[int | None, float | None], raw_call: Callable[[int], float]
) -> tuple[dict, dict, dict]:
    """One server with these batching settings, every client level once, then one client taking turns
    with the raw call (``raw_call(i)``: ms of ``Policy.act`` on observation i): ``(settings it reports,
    {level: {"ms", "wall", "server_cpu", "client_cpu", "metrics": deltas}}, {"raw": ms, "service": ms})``."""
    import httpx
    import psutil

    max_batch, wait_ms = batching
    extra = {"LIBROBOT_MAX_BATCH": str(max_batch)} if max_batch is not None else {}
    if wait_ms is not None:
        extra["LIBROBOT_BATCH_WAIT_MS"] = str(wait_ms)
    me = psutil.Process()
    runs: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as home:
        proc, url = start_server(args.policy, args.runtime, args.threads, home, extra)
        try:
            with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=64)) as client:
                headers = {"content-type": "application/json"}
                settings = client.post(f"{url}/metadata", json={}).json().get("batching")

                def call(body: bytes) -> float:
                    started = time.perf_counter()
                    resp = client.post(f"{url}/act", content=body, headers=headers)
                    resp.raise_for_status()
                    return 1000 * (time.perf_counter() - started)

                for body in bodies[:4]:
                    call(body)
                for level in args.concurrency:
                    before, server0, client0 = scrape(client, url), cpu_seconds(proc.pid), sum(me.cpu_times()[:2])
                    with ThreadPoolExecutor(level) as pool:
                        started = time.perf_counter()
                        ms = list(pool.map(call, bodies))
                        wall = time.perf_counter() - started
                    server_cpu, client_cpu = cpu_seconds(proc.pid) - server0, sum(me.cpu_times()[:2]) - client0
                    after = scrape(client, url)
                    metrics = {k: after[k] - before.get(k, 0.0) for k in after}
                    runs[level] = {"ms": ms, "wall": wall, "server_cpu": server_cpu, "client_cpu": client_cpu}
                    runs[level]["metrics"] = metrics
                    print(
                        f"  {json.dumps(settings)} {level} clients: p50 {np.median(ms):.2f} ms, "
                        f"{len(ms) / wall:.1f} req/s",
                        flush=True,
                    )
                # call by call, raw and served alternate, so both see the same load: the 1-client ratio
                # is not skewed by load that changed between two separate passes on a shared machine
                paired: dict[str, list[float]] = {"raw": [], "service": []}
                for i, body in enumerate(bodies):
                    paired["raw"].append(raw_call(i))
                    paired["service"].append(call(body))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return settings, runs, paired


def serve_settings(args, bodies: list[bytes], raw_call: Callable[[int], float]) -> list[dict]:
    """Every batching setting, ``--rounds`` times, the settings taking turns so load drift hits them
    alike; each setting's levels pool their rounds (latencies together, throughput = requests / wall)."""
    pooled: dict[int, dict] = {}
    for round_ in range(args.rounds):
        for i, batching in enumerate(args.batching):
            print(
                f"round {round_ + 1}, server with batching {batching} (max batch, wait ms; None: default)", flush=True
            )
            settings, runs, paired = serve_round(args, bodies, batching, raw_call)
            entry = pooled.setdefault(i, {"batching": settings, "levels": {}, "raw": [], "service": []})
            for level, run in runs.items():
                entry["levels"].setdefault(level, []).append(run)
            entry["raw"] += paired["raw"]
            entry["service"] += paired["service"]
    out = []
    for i in sorted(pooled):
        levels = []
        for level, runs in pooled[i]["levels"].items():
            ms = [m for r in runs for m in r["ms"]]
            metrics: dict[str, float] = {}
            for r in runs:
                for k, v in r["metrics"].items():
                    metrics[k] = metrics.get(k, 0.0) + v
            levels.append(
                {
                    "concurrency": level,
                    **percentiles(ms),
                    "throughput_rps": round(len(ms) / sum(r["wall"] for r in runs), 2),
                    "profile": level_profile(runs, metrics),
                }
            )
            print(json.dumps({"batching": pooled[i]["batching"], **levels[-1]}), flush=True)
        raw, served = percentiles(pooled[i]["raw"]), percentiles(pooled[i]["service"])
        paired = {"raw": raw, "service": served, "p50_ratio": round(served["p50_ms"] / raw["p50_ms"], 3)}
        print(f"1 client taking turns with the raw call: {json.dumps(paired)}", flush=True)
        out.append({"batching": pooled[i]["batching"], "levels": levels, "paired_1_client": paired})
    return out


def summary(report: dict, levels: list[dict], paired: dict) -> dict:
    """The issue's two targets for one batching setting, and the most the graph lets many clients gain
    over one client's rate. The p50 ratio is the paired one (raw and served calls taking turns)."""
    by_level = {e["concurrency"]: e for e in levels}
    one, many = by_level.get(1), by_level.get(max(by_level))
    graph = report["graph"]
    best = max(graph[f"batch_{b}"]["samples_per_s"] for b in GRAPH_BATCHES)
    out = {"graph_ratio_32_vs_1": graph["ratio_32_vs_1"], "graph_best_samples_per_s": best}
    out["p50_vs_raw_at_1_client"] = paired["p50_ratio"]
    if one:
        out["p50_vs_raw_separate_passes"] = round(one["p50_ms"] / report["raw_ort_call"]["p50_ms"], 3)
        # if the model thread were the only limit, many clients could reach the graph's best samples/s
        out["ceiling_ratio_vs_1_client"] = round(best / one["throughput_rps"], 3)
    if one and many and many is not one:
        out[f"throughput_ratio_{many['concurrency']}_vs_1"] = round(many["throughput_rps"] / one["throughput_rps"], 3)
    return out


def batching_setting(text: str) -> tuple[int | None, float | None]:
    """``MAX[:WAIT_MS]`` or ``default`` (the service's own defaults)."""
    if text == "default":
        return None, None
    max_batch, _, wait = text.partition(":")
    try:
        return int(max_batch), float(wait) if wait else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batching {text!r}: expected MAX[:WAIT_MS] or default") from None


def act_ms(policy, observations: list, i: int) -> float:
    """ms of ``Policy.act`` on observation ``i`` (seed ``i``, as its request carries)."""
    started = time.perf_counter()
    policy.act(observations[i % len(observations)], seed=i)
    return 1000 * (time.perf_counter() - started)


def raw_calls(policy, observations: list, count: int) -> list[float]:
    """``Policy.act`` on one observation at a time, back to back, ms each."""
    return [act_ms(policy, observations, i) for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--runtime", default="onnx-int8", choices=["onnx", "onnx-int8"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=256, help="requests per concurrency level (distinct)")
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads, in the server and the baseline")
    parser.add_argument(
        "--batching",
        type=batching_setting,
        nargs="+",
        default=[(None, None)],
        help="server batching settings to compare, MAX[:WAIT_MS] or default (LIBROBOT_MAX_BATCH, LIBROBOT_BATCH_WAIT_MS)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds over the settings, taking turns; levels pool them"
    )
    parser.add_argument("--out", default="benchmarks/results/service_latency.json")
    args = parser.parse_args()
    if args.requests < max(GRAPH_BATCHES):
        parser.error(f"--requests must be at least {max(GRAPH_BATCHES)} (one distinct batch of each size)")

    from librobot.inference.policy import Policy
    from librobot.serving.payload import Observation, set_spec

    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    observations = recorded(args.policy, args.requests)  # distinct frames: no repeated input is timed
    bodies = [
        json.dumps({"observations": [encode(observations[i % len(observations)], seed=i)]}).encode()
        for i in range(args.requests)
    ]
    policy = Policy.from_bundle(args.policy, runtime=args.runtime, threads=args.threads)
    set_spec(policy.spec)
    for obs in observations[:3]:
        policy.act(obs, seed=0)
    raw = raw_calls(policy, observations, args.requests)
    report: dict = {
        "policy": str(Path(args.policy).resolve()),
        "runtime": args.runtime,
        "threads": args.threads,
        "requests": args.requests,
        "machine": machine,
    }
    print(f"raw Policy.act before: {json.dumps(percentiles(raw))}", flush=True)
    from librobot.serving.served_policy import prepare

    checked = [Observation.model_validate(json.loads(b)["observations"][0]).check() for b in bodies]
    report["graph"] = graph_ceiling(policy, [prepare(policy, c, i) for i, c in enumerate(checked)])
    report["stages"] = stages(policy, bodies)
    print(f"stages: {json.dumps(report['stages'])}", flush=True)

    services = serve_settings(args, bodies, functools.partial(act_ms, policy, observations))
    after = raw_calls(policy, observations, args.requests)  # again: load drifts over a run on a shared machine
    report["raw_ort_call"] = {
        **percentiles(raw + after),
        "throughput_rps": round(1000 * len(raw + after) / sum(raw + after), 2),
        "before": percentiles(raw),
        "after": percentiles(after),
    }
    print(f"raw Policy.act after: {json.dumps(report['raw_ort_call']['after'])}", flush=True)
    report["service"] = services[0]["levels"]  # the first setting: the service's defaults unless --batching
    report["batching"] = services[0]["batching"]
    report["rounds"] = args.rounds
    report["paired_1_client"] = services[0]["paired_1_client"]
    report["summary"] = summary(report, services[0]["levels"], services[0]["paired_1_client"])
    if len(services) > 1:
        report["batching_sweep"] = [
            {**s, "summary": summary(report, s["levels"], s["paired_1_client"])} for s in services
        ]
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"summary: {json.dumps(report['summary'])}; load after {report['load_avg_after']}", flush=True)
    for entry in report.get("batching_sweep", []):
        print(f"  batching {json.dumps(entry['batching'])}: {json.dumps(entry['summary'])}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
