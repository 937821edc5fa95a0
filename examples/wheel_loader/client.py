"""Drive the simulated wheel loader with a served policy, over HTTP (BentoML) or gRPC.

The deployment loop a real machine would run: read the cameras and the 22-D state, ask the server
for an action chunk, execute it at the control rate (10 Hz), repeat. Two ways to execute chunks:

- synchronous (default): request a chunk, run its first ``--execute-steps`` actions, request the
  next one; the machine waits for each round trip;
- ``--async``: ``librobot.client.AsyncPolicyClient`` asks for the next chunk while the current one
  executes, blends overlapping chunks, and brakes (the robot's safe action) if the server goes
  quiet. It runs at the control rate, as a real machine does.

Reports per episode: success, delivered kg, request round trips, and how evenly actions went out
(``--realtime`` or ``--async``: the period between actions and its deviation from 100 ms).

    bentoml serve librobot.serving.service:PolicyService --port 3000     # in another shell, or
    librobot serve-grpc --model librobot-policy:latest --port 50051
    python examples/wheel_loader/client.py --url http://localhost:3000 --episodes 5 --out client.json
    python examples/wheel_loader/client.py --url grpc://localhost:50051 --async --episodes 5

Set ``LIBROBOT_API_TOKEN`` (or ``--token``) when the server requires one.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; set before mujoco is imported

SEED_STRIDE = 100_003  # chunk seed = episode seed * SEED_STRIDE + step: the noise `librobot eval` draws


class SyncDriver:
    """One blocking request per chunk; the first ``execute_steps`` actions of each are executed."""

    def __init__(self, transport: Any, execute_steps: int, timeout_s: float) -> None:
        from librobot.inference.action_buffer import ActionBuffer

        self.transport = transport
        self.buffer = ActionBuffer(execute_steps, mode="chunk")
        self.timeout_s = timeout_s
        self.request_ms: list[float] = []

    def reset(self, seed: int) -> None:
        self.buffer.reset()
        self.seed = seed
        self.request_ms = []

    def step(self, obs: dict[str, Any]) -> np.ndarray:
        if self.buffer.needs_chunk():
            sent = time.perf_counter()
            step = self.buffer.step
            self.buffer.add(self.transport.act(obs, self.seed * SEED_STRIDE + step, self.timeout_s))
            self.request_ms.append(1000 * (time.perf_counter() - sent))
        return self.buffer.pop()

    def extra(self) -> dict[str, Any]:
        return {"requests": len(self.request_ms)}

    def close(self) -> None:
        self.transport.close()


class AsyncDriver:
    """``AsyncPolicyClient``: the next chunk is requested while the current one executes."""

    def __init__(self, transport: Any, threshold: int | None, timeout_s: float) -> None:
        from librobot.client import AsyncPolicyClient

        self.client = AsyncPolicyClient(transport, threshold=threshold, timeout_s=timeout_s)

    def reset(self, seed: int) -> None:
        self.client.seed = seed
        self.client.reset()

    def step(self, obs: dict[str, Any]) -> np.ndarray:
        return self.client.step(obs)

    @property
    def request_ms(self) -> list[float]:
        return self.client.stats.request_ms

    def extra(self) -> dict[str, Any]:
        stats = self.client.stats
        return {
            "requests": stats.attempts,
            "chunks": stats.chunks,
            "safe_steps": stats.safe_steps,
            "stale_chunks": stats.stale_chunks,
            "failed_requests": stats.failed_requests,
            "last_error": stats.last_error,
        }

    def close(self) -> None:
        self.client.close()


def run_episode(env: Any, driver: Any, seed: int, fps: float | None) -> dict[str, Any]:
    """One closed-loop episode from ``env.reset(seed)``; ``fps``: pace the loop at that rate."""
    from librobot.client import Rate

    driver.reset(seed)
    rate = Rate(fps) if fps else None
    obs = env.reset(seed)
    step_ms, sent_at, info = [], [], {}
    for _ in range(env.max_steps):
        if rate is not None:
            rate.sleep()
        started = time.perf_counter()
        action = driver.step(obs)
        sent_at.append(time.perf_counter())
        step_ms.append(1000 * (sent_at[-1] - started))  # how long the controller waited for this action
        obs, _, terminated, truncated, info = env.step(action)
        if info["success"] or terminated or truncated:
            break
    report = {
        "seed": seed,
        "success": bool(info.get("success")),
        "steps": len(step_ms),
        "delivered_kg": round(float(info.get("delivered_kg", 0.0)), 1),
        "spilled_kg": round(float(info.get("spilled_kg", 0.0)), 1),
        **driver.extra(),
        "request_ms": _percentiles(driver.request_ms),
        "step_ms": _percentiles(step_ms),
        "step_latency_ms": [round(v, 2) for v in step_ms],
        "request_latency_ms": [round(v, 2) for v in driver.request_ms],
    }
    if fps:
        periods = 1000 * np.diff(sent_at)
        report["period_ms"] = _percentiles(periods.tolist())
        report["jitter_ms"] = _percentiles(np.abs(periods - 1000 / fps).tolist()) | {
            "max": round(float(np.abs(periods - 1000 / fps).max(initial=0.0)), 2)
        }
        report["periods_ms"] = [round(v, 2) for v in periods]
    return report


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    a = np.asarray(ms)
    return {k: round(float(np.percentile(a, q)), 2) for k, q in (("p50", 50), ("p90", 90), ("p99", 99))} | {
        "mean": round(float(a.mean()), 2)
    }


def run_client(
    url: str,
    episodes: int = 5,
    seed: int = 1000,
    execute_steps: int | None = None,
    max_steps: int | None = None,
    token: str | None = None,
    progress: bool = True,
    use_async: bool = False,
    realtime: bool = False,
    threshold: int | None = None,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Run ``episodes`` closed-loop episodes (seeds ``seed``, ``seed + 1``, ...) against the server at ``url``
    (``http://host:port`` or ``grpc://host:port``)."""
    from librobot.client import make_transport
    from librobot.sim import make_env

    transport = make_transport(url, token)
    try:
        meta = transport.metadata()
    except Exception:
        transport.close()
        raise
    if meta["robot"]["name"] != "wheel_loader":
        transport.close()
        raise SystemExit(f"the server at {url} serves a policy for robot {meta['robot']['name']!r}, not wheel_loader")
    horizon = int(meta["action_horizon"])
    execute = int(execute_steps or min(4, horizon))
    if not 1 <= execute <= horizon:
        transport.close()
        raise SystemExit(f"--execute-steps must be in [1, {horizon}] (the served action horizon), got {execute}")
    driver = AsyncDriver(transport, threshold, timeout_s) if use_async else SyncDriver(transport, execute, timeout_s)
    fps = float(meta["robot"].get("fps", 10.0)) if (realtime or use_async) else None
    _, height, _ = meta["image_shape"]  # [3, H, W]: render the cameras at the size the policy was trained on
    kwargs: dict[str, Any] = {"image_size": int(height), "cameras": list(meta["cameras"])}
    if max_steps:
        kwargs["max_steps"] = int(max_steps)
    results = []
    try:
        env = make_env("wheel_loader", **kwargs)
        try:
            for i in range(episodes):
                ep = run_episode(env, driver, seed + i, fps)
                results.append(ep)
                if progress:
                    jitter = f", period jitter p99 {ep['jitter_ms'].get('p99')} ms" if fps else ""
                    print(
                        f"seed {ep['seed']}: {'success' if ep['success'] else 'failure'}, {ep['delivered_kg']} kg "
                        f"delivered in {ep['steps']} steps; request p50 {ep['request_ms'].get('p50')} ms, "
                        f"p99 {ep['request_ms'].get('p99')} ms{jitter}",
                        flush=True,
                    )
        finally:
            env.close()
    finally:
        driver.close()
    successes = sum(ep["success"] for ep in results)
    report = {
        "url": url,
        "mode": "async" if use_async else "sync",
        "model_tag": meta.get("model_tag"),
        "served_runtime": meta.get("served_runtime"),
        "episodes": len(results),
        "execute_steps": None if use_async else execute,
        "success_rate": successes / max(1, len(results)),
        "mean_delivered_kg": round(float(np.mean([ep["delivered_kg"] for ep in results])), 1) if results else 0.0,
        "step_ms": _percentiles([v for ep in results for v in ep["step_latency_ms"]]),
        "request_ms": _percentiles([v for ep in results for v in ep["request_latency_ms"]]),
        "per_episode": results,
    }
    if fps:
        periods = np.array([v for ep in results for v in ep["periods_ms"]])
        report["control_fps"] = fps
        report["period_ms"] = _percentiles(periods.tolist())
        report["jitter_ms"] = _percentiles(np.abs(periods - 1000 / fps).tolist()) | {
            "max": round(float(np.abs(periods - 1000 / fps).max(initial=0.0)), 2)
        }
    if use_async:
        report["safe_steps"] = sum(ep["safe_steps"] for ep in results)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:3000", help="http://host:port or grpc://host:port")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first episode (eval's default)")
    parser.add_argument("--execute-steps", type=int, default=None, help="sync: actions run per chunk (default 4)")
    parser.add_argument("--max-steps", type=int, default=None, help="control steps per episode (default: env's 400)")
    parser.add_argument(
        "--async", dest="use_async", action="store_true", help="request chunks ahead (AsyncPolicyClient)"
    )
    parser.add_argument("--realtime", action="store_true", help="pace the synchronous loop at the control rate too")
    parser.add_argument("--threshold", type=int, default=None, help="async: request when this many actions are left")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per request (default: sync 60, async 1)")
    parser.add_argument("--token", default=os.environ.get("LIBROBOT_API_TOKEN"))
    parser.add_argument("--out", default=None, help="write the report (with per-step latencies) as JSON")
    args = parser.parse_args()
    timeout = args.timeout or (1.0 if args.use_async else 60.0)
    report = run_client(
        args.url,
        args.episodes,
        args.seed,
        args.execute_steps,
        args.max_steps,
        args.token,
        use_async=args.use_async,
        realtime=args.realtime,
        threshold=args.threshold,
        timeout_s=timeout,
    )
    jitter = f", period jitter p99 {report['jitter_ms'].get('p99')} ms" if "jitter_ms" in report else ""
    print(
        f"{report['success_rate']:.0%} success over {report['episodes']} episodes, "
        f"{report['mean_delivered_kg']} kg delivered on average; per control step p50 {report['step_ms'].get('p50')} ms, "
        f"p99 {report['step_ms'].get('p99')} ms{jitter}"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
