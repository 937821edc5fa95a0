"""Export steps: ONNX fp32 with its parity gate, then optional int8 under its own gates."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

from librobot import pipeline_ops as ops
from librobot.bundle import Bundle, load_bundle
from steps import materializers  # noqa: F401  (registers the bundle materializer)


@step
def export(bundle: Bundle) -> tuple[Annotated[Bundle, "exported_bundle"], Annotated[dict[str, Any], "export_report"]]:
    report = ops.export(bundle.path)
    log_metadata({"export": {"fp32": report.get("fp32", {})}}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), report


@step
def quantize(
    bundle: Bundle, mode: str | None
) -> tuple[Annotated[Bundle, "quantized_bundle"], Annotated[dict[str, Any], "quantize_report"]]:
    entry = ops.quantize(bundle.path, mode)
    log_metadata({"quantize": entry}, infer_model=True)
    return load_bundle(bundle.path, with_model=False), entry
