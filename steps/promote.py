"""Promote step: the new model version replaces production only when its closed-loop success is better."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import get_step_context, step


@step(enable_cache=False)  # production changes between runs: always decide against the current one
def promote(
    eval_report: dict[str, Any], quantize_report: dict[str, Any], policy: dict[str, Any]
) -> Annotated[dict[str, Any], "promotion"]:
    from librobot.promotion import PromotionPolicy, promote_model_version

    model = get_step_context().model
    gates = [] if quantize_report.get("passed", True) else [f"{quantize_report['mode']} parity gate"]
    decision = promote_model_version(
        model.name, str(model.version), float(eval_report["success_rate"]), PromotionPolicy(**policy), gates
    )
    print(decision.reason)
    return {**decision.to_dict(), "model": model.name, "version": str(model.version)}
