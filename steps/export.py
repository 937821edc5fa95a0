"""Export steps: ONNX fp32 with its parity gate, then int8 with its own gate (``librobot.inference``)."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

import librobot.pipeline_materializers  # noqa: F401  (registers the bundle materializer)
from librobot.bundle import Bundle, load_bundle


@step
def export(bundle: Bundle) -> tuple[Annotated[Bundle, "exported_bundle"], Annotated[dict[str, Any], "export_report"]]:
    """fp32 ONNX into the bundle's ``onnx/``; fails the run when ONNX Runtime disagrees with torch."""
    from librobot.inference.onnx_export import export_policy

    report = export_policy(bundle.path)
    log_metadata({"export": {"fp32": report.get("fp32", {})}}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), report


@step
def quantize(
    bundle: Bundle, mode: str | None
) -> tuple[Annotated[Bundle, "quantized_bundle"], Annotated[dict[str, Any], "quantize_report"]]:
    """int8 (or int4) graph under its parity gate; a missed gate is recorded, and blocks promotion."""
    from librobot.inference.onnx_export import ExportParityError, quantize_policy

    if not mode:
        return bundle, {"mode": None, "passed": True, "skipped": "no quantization configured"}
    try:
        report = quantize_policy(bundle.path, quantize=mode)  # reuses the fp32 graph of the export step
        entry = {"mode": mode, "passed": True, **report.get(mode, {})}
    except ExportParityError as err:
        entry = {"mode": mode, "passed": False, "error": str(err)}
    log_metadata({"quantize": entry}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), entry
