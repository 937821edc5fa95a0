"""Promote step: the new model version replaces production only when its closed-loop success is better.

The fp32 policy is judged; quantization only adds a note (the served runtime, why int8 was rejected).
"""

from __future__ import annotations

from typing import Annotated, Any

from zenml import get_step_context, step

from librobot import pipeline_ops as ops
from librobot.promotion import promote_model_version


@step(enable_cache=False)  # production changes between runs: always decide against the current one
def promote(
    eval_report: dict[str, Any], quantize_report: dict[str, Any], policy: dict[str, Any]
) -> Annotated[dict[str, Any], "promotion"]:
    model = get_step_context().model
    notes = ops.quantization_notes(quantize_report)
    decision = promote_model_version(
        model.name, str(model.version), float(eval_report["success_rate"]), ops.promotion_policy(policy), notes=notes
    )
    print(decision.reason)
    return {**decision.to_dict(), **notes, "model": model.name, "version": str(model.version)}
