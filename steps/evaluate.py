"""Evaluate step: closed-loop rollouts in the simulator the data came from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step

from librobot import pipeline_ops as ops
from librobot.bundle import Bundle, load_bundle
from librobot.promotion import SUCCESS_KEY
from steps import materializers  # noqa: F401  (registers the bundle materializer)


@step
def evaluate(
    bundle: Bundle, episodes_per_task: int, settings: dict[str, Any], output_root: str
) -> tuple[Annotated[Bundle, "evaluated_bundle"], Annotated[dict[str, Any], "eval_report"]]:
    """Success rate per task and overall; recorded on the bundle and on the ZenML model version."""
    output = Path(output_root).resolve() / get_step_context().pipeline_run.name / "eval"
    report = ops.evaluate(bundle.path, output, episodes_per_task, settings)
    per_task = {task: float(entry["success_rate"]) for task, entry in report["per_task"].items()}
    success = float(report["success_rate"])
    log_metadata({SUCCESS_KEY: success, "eval": {"success_rate": success, "per_task": per_task}}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), report
