"""Export steps: ONNX fp32 with its parity gate, then optional int8 under its own gates (``librobot.inference``)."""

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
    """int8 (or int4) under its gates; a rejected graph is recorded and the bundle serves fp32 (never fails the run)."""
    from librobot.inference.onnx_export import try_quantize

    entry = try_quantize(bundle.path, mode)  # reuses the fp32 graph of the export step
    log_metadata({"quantize": entry}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), entry
