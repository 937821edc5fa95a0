"""The closed-loop gate of a quantized graph: fp32 ONNX and the quantized runtime on the same seeds.

``librobot.inference.onnx_export`` takes this function as its ``closed_loop`` runner (export and
quantization do not depend on evaluation; whoever runs both passes it in: the pipeline ops, the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from librobot.checkpoint import scratch_dir
from librobot.evaluation.run import evaluate
from librobot.logging import get_logger

log = get_logger("evaluation.runtime_comparison")


def closed_loop_comparison(bundle_dir: Path, runtime: str, episodes: int, max_drop: float) -> dict[str, Any]:
    """Success rate of fp32 ONNX and ``runtime`` in the bundle's simulator, on the same seeds."""
    rates = {}
    with scratch_dir(bundle_dir) as tmp:  # inside the bundle: a killed run leaves nothing in /tmp
        for rt in ("onnx", runtime):
            log.info("closed loop: %d episodes per task with %s", episodes, rt)
            overrides = {"runtime": rt, "offline": False, "videos_per_task": 0}
            report = evaluate(
                bundle_dir,
                Path(tmp) / rt,
                episodes=episodes,
                overrides=overrides,
                record_in_bundle=False,
                progress=False,
            )
            rates[rt] = float(report["success_rate"])
    drop = rates["onnx"] - rates[runtime]
    return {
        "episodes_per_task": episodes,
        "success_fp32": rates["onnx"],
        "success_quantized": rates[runtime],
        "drop": drop,
        "max_drop": max_drop,
        "passed": drop <= max_drop,
    }
