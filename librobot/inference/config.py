"""The ``export`` section of an experiment config: ONNX export and quantization gates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExportConfig:
    opset: int = 18
    parity_max_abs_err: float = 1e-4  # fp32 ONNX vs torch, in normalized action units
    parity_min_cosine: float = 0.9999
    parity_samples: int = 16  # recorded observations used for parity
    quantize: str | None = None  # None | int8 | int4
    int8_mode: str = "dynamic"  # dynamic | static (QDQ, calibrated on dataset samples)
    calibration_samples: int = 64
    quant_min_cosine: float = 0.98
    quant_max_abs_err: float = 0.25
    quant_max_success_drop: float = 0.10  # closed-loop success may fall at most this much vs fp32
