"""Which exported graph a package serves by default: a quantized one only where it is faster here.

int8 is not faster everywhere: on an AVX-512/VNNI Xeon the default policy's static int8 graph took
23.8 ms per chunk against fp32's 13.6 ms (benchmarks/inference_latency.py), because the quantize /
dequantize pairs around each matmul cost more than the integer matmuls save at batch 1. So the
package times every graph that passed its gates on this machine (the whole network, batch 1, one
thread, distinct inputs per call) and serves a quantized graph only when it is at least
``MIN_SPEEDUP`` times faster than fp32. The timings, the machine and the reason are recorded in the
model's metadata; ``LIBROBOT_RUNTIME`` still switches at serve time on a machine that differs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from librobot.machine import cpu_model_and_flags

MIN_SPEEDUP = 1.1  # a quantized graph must save at least ~10% of fp32's latency to be worth its error
CALLS = 15


def time_graphs(paths: dict[str, Path], calls: int = CALLS, threads: int = 1, seed: int = 0) -> dict[str, float]:
    """Median ms of one batch-1 call of each exported policy graph, on distinct random inputs per call.

    A graph that takes the instruction's features is timed alone: its text graph runs once per
    instruction when served (``inference/text_features.py``), the same for every runtime.

    The graphs take turns call by call, so a change in the machine's load touches them alike.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    sessions = {
        rt: ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"]) for rt, p in paths.items()
    }
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {rt: [] for rt in sessions}
    for call in range(calls + 2):
        order = list(sessions) if call % 2 == 0 else list(sessions)[::-1]
        for rt in order:
            feed = _random_feeds(sessions[rt], rng)
            started = time.perf_counter()
            sessions[rt].run(None, feed)
            if call >= 2:  # the first calls allocate: not timed
                times[rt].append(1000 * (time.perf_counter() - started))
    return {rt: float(np.median(t)) for rt, t in times.items()}


def _random_feeds(session: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Inputs of the graph's shapes at batch 1 (content does not change these graphs' cost)."""
    feeds: dict[str, np.ndarray] = {}
    for inp in session.get_inputs():
        shape = [1 if not isinstance(d, int) or i == 0 else d for i, d in enumerate(inp.shape)]
        if inp.name == "images":
            feeds[inp.name] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        elif inp.name == "input_ids":
            shape = [1, shape[1] if len(shape) > 1 and shape[1] > 1 else 16]
            feeds[inp.name] = rng.integers(1, 1000, size=shape, dtype=np.int64)
        elif inp.name == "attention_mask":
            feeds[inp.name] = np.ones([1, feeds["input_ids"].shape[1]], dtype=np.int64)
        elif inp.type == "tensor(bool)":  # text_mask: every instruction token valid
            feeds[inp.name] = np.ones(shape, dtype=bool)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def choose_runtime(latency_ms: dict[str, float]) -> tuple[str, str]:
    """(runtime, reason): the fastest quantized graph if it beats fp32 (``onnx``) by MIN_SPEEDUP, else fp32."""
    fp32 = latency_ms["onnx"]
    quantized = {rt: ms for rt, ms in latency_ms.items() if rt != "onnx"}
    if not quantized:
        return "onnx", "no quantized graph passed its gates"
    best = min(quantized, key=lambda rt: quantized[rt])
    speedup = fp32 / quantized[best]
    if speedup >= MIN_SPEEDUP:
        return best, f"{best} is {speedup:.2f}x faster than fp32 here ({quantized[best]:.1f} vs {fp32:.1f} ms)"
    return "onnx", (
        f"{best} is not fast enough on this machine ({quantized[best]:.1f} ms vs fp32 {fp32:.1f} ms, "
        f"{speedup:.2f}x < {MIN_SPEEDUP}x): serving fp32"
    )


def measure_and_choose(onnx_dir: Path, files: dict[str, str]) -> dict[str, Any]:
    """Time each graph in ``files`` (runtime -> file name in ``onnx_dir``) and choose; a metadata record."""
    latency = {rt: round(ms, 3) for rt, ms in time_graphs({rt: onnx_dir / name for rt, name in files.items()}).items()}
    runtime, reason = choose_runtime(latency)
    model, isa = cpu_model_and_flags()
    return {"runtime": runtime, "reason": reason, "latency_ms": latency, "machine": f"{model} ({' '.join(isa)})"}
