"""Drive the simulated wheel loader with a policy served by BentoML, over HTTP.

The deployment loop a real machine would run: read the cameras and the 22-D state, POST them to the
service's ``/act`` endpoint, execute the first ``--execute-steps`` actions of the returned chunk at
10 Hz, repeat. Reports per episode: success, delivered kg, and the latency of every control step
(the request's round trip on steps that fetch a chunk, ~0 on steps served from the buffer).

    bentoml serve librobot.serving.service:PolicyService --port 3000     # in another shell
    python examples/wheel_loader/client.py --url http://localhost:3000 --episodes 5 --out client.json

Set ``LIBROBOT_API_TOKEN`` (or ``--token``) when the service requires one.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; set before mujoco is imported


class PolicyClient:
    """A thin HTTP client of the policy service: ``act(obs, seed) -> [H, Da]`` in robot units."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, headers=headers)

    def metadata(self) -> dict[str, Any]:
        return self._post("metadata", {})

    def act(self, obs: dict[str, Any], seed: int) -> np.ndarray:
        payload = {
            # raw uint8 HWC bytes, base64: ~4x smaller than nested lists
            "images": {
                cam: base64.b64encode(np.ascontiguousarray(img).tobytes()).decode()
                for cam, img in obs["images"].items()
            },
            "state": np.asarray(obs["state"], dtype=np.float64).tolist(),
            "instruction": obs["instruction"],
            "seed": int(seed),
        }
        return np.asarray(self._post("act", {"observations": [payload]})[0]["actions"], dtype=np.float64)

    def _post(self, endpoint: str, body: dict[str, Any]) -> Any:
        resp = self.http.post(f"{self.url}/{endpoint}", json=body)
        if resp.status_code != 200:
            raise RuntimeError(f"POST /{endpoint} returned {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def close(self) -> None:
        self.http.close()


def run_episode(env: Any, client: PolicyClient, seed: int, execute_steps: int) -> dict[str, Any]:
    """One closed-loop episode from ``env.reset(seed)``; latency in ms per control step."""
    from librobot.inference.action_buffer import ActionBuffer

    buffer = ActionBuffer(execute_steps, mode="chunk")
    obs = env.reset(seed)
    step_ms, request_ms, info = [], [], {}
    for step in range(env.max_steps):
        started = time.perf_counter()
        if buffer.needs_chunk():
            sent = time.perf_counter()
            buffer.add(client.act(obs, seed=seed * 100_003 + step))  # same noise seeds as `librobot eval`
            request_ms.append(1000 * (time.perf_counter() - sent))
        action = buffer.pop()
        step_ms.append(1000 * (time.perf_counter() - started))  # time the controller waited for this action
        obs, _, terminated, truncated, info = env.step(action)
        if info["success"] or terminated or truncated:
            break
    return {
        "seed": seed,
        "success": bool(info.get("success")),
        "steps": len(step_ms),
        "delivered_kg": round(float(info.get("delivered_kg", 0.0)), 1),
        "spilled_kg": round(float(info.get("spilled_kg", 0.0)), 1),
        "requests": len(request_ms),
        "request_ms": _percentiles(request_ms),
        "step_ms": _percentiles(step_ms),
        "step_latency_ms": [round(v, 2) for v in step_ms],
        "request_latency_ms": [round(v, 2) for v in request_ms],
    }


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
) -> dict[str, Any]:
    """Run ``episodes`` closed-loop episodes (seeds ``seed``, ``seed + 1``, ...) against the service at ``url``."""
    from librobot.sim import make_env

    client = PolicyClient(url, token)
    try:
        meta = client.metadata()
        if meta["robot"]["name"] != "wheel_loader":
            raise SystemExit(
                f"the service at {url} serves a policy for robot {meta['robot']['name']!r}, not wheel_loader"
            )
        _, height, _ = meta["image_shape"]  # [3, H, W]: render the cameras at the size the policy was trained on
        horizon = int(meta["action_horizon"])
        execute = int(execute_steps or min(4, horizon))
        if not 1 <= execute <= horizon:
            raise SystemExit(f"--execute-steps must be in [1, {horizon}] (the served action horizon), got {execute}")
        kwargs: dict[str, Any] = {"image_size": int(height), "cameras": list(meta["cameras"])}
        if max_steps:
            kwargs["max_steps"] = int(max_steps)
        env = make_env("wheel_loader", **kwargs)
        results = []
        try:
            for i in range(episodes):
                ep = run_episode(env, client, seed + i, execute)
                results.append(ep)
                if progress:
                    print(
                        f"seed {ep['seed']}: {'success' if ep['success'] else 'failure'}, {ep['delivered_kg']} kg "
                        f"delivered in {ep['steps']} steps; request p50 {ep['request_ms'].get('p50')} ms, "
                        f"p99 {ep['request_ms'].get('p99')} ms",
                        flush=True,
                    )
        finally:
            env.close()
    finally:
        client.close()
    all_steps = [v for ep in results for v in ep["step_latency_ms"]]
    successes = sum(ep["success"] for ep in results)
    return {
        "url": url,
        "model_tag": meta.get("model_tag"),
        "served_runtime": meta.get("served_runtime"),
        "episodes": len(results),
        "execute_steps": execute,
        "success_rate": successes / max(1, len(results)),
        "mean_delivered_kg": round(float(np.mean([ep["delivered_kg"] for ep in results])), 1) if results else 0.0,
        "step_ms": _percentiles(all_steps),
        "request_ms": _percentiles([v for ep in results for v in ep["request_latency_ms"]]),
        "per_episode": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:3000")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first episode (eval's default)")
    parser.add_argument("--execute-steps", type=int, default=None, help="actions run per chunk (default 4)")
    parser.add_argument("--max-steps", type=int, default=None, help="control steps per episode (default: env's 400)")
    parser.add_argument("--token", default=os.environ.get("LIBROBOT_API_TOKEN"))
    parser.add_argument("--out", default=None, help="write the report (with per-step latencies) as JSON")
    args = parser.parse_args()
    report = run_client(args.url, args.episodes, args.seed, args.execute_steps, args.max_steps, args.token)
    print(
        f"{report['success_rate']:.0%} success over {report['episodes']} episodes, "
        f"{report['mean_delivered_kg']} kg delivered on average; per control step p50 {report['step_ms'].get('p50')} ms, "
        f"p99 {report['step_ms'].get('p99')} ms"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
