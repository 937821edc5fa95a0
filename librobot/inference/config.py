"""The ``export`` section of an experiment config: ONNX export and quantization gates."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportConfig:
    opset: int = 18
    # fp32 ONNX vs torch in normalized action units (range ~[-1, 1]); float32 reassociation in ORT's
    # fused kernels reaches ~1e-4 on a 10-step unrolled sampler, so the gate sits just above it
    parity_max_abs_err: float = 3e-4
    parity_min_cosine: float = 0.9999
    parity_samples: int = 16  # recorded observations used for parity
    parity_seed: int = 0  # picks the observations and the shared noise
    quantize: str | None = None  # None | int8 | int4
    # static: QDQ with scales calibrated on dataset samples; outputs do not depend on what else is
    # in the batch (the service batches requests). dynamic: activation scales computed per call
    # over the whole batch, so a request's actions shift with its batch neighbours.
    int8_mode: str = "static"
    calibration_samples: int = 64
    quant_min_cosine: float = 0.98  # worst sample
    # a sampler's chunk can differ in a rare element after int8 (measured on the trained default
    # policy: max 0.64, mean 0.019, cosine 0.998, closed-loop success equal to fp32), so the
    # element-wise gate only catches a broken graph; closed-loop success is the real arbiter
    quant_max_abs_err: float = 1.0
    quant_max_success_drop: float = 0.10  # closed-loop success may fall at most this much vs fp32
    closed_loop_episodes: int = 0  # per task, fp32 and quantized on the same seeds; 0 skips the rollouts
    int4_block_size: int = 32  # MatMulNBits block along K (weight-only int4)
    # modules left in float when quantizing (name suffixes): the action head's input and output
    # projections are tiny, and the noisy action enters and the chunk leaves through them
    quant_keep_float: list[str] = field(default_factory=lambda: ["action_in", "action_out"])
    # int8 op types: the transformer matmuls. Conv is left float: post-training int8 of the
    # EfficientNet depthwise convs cost far more accuracy than the matmuls (worst-sample cosine
    # 0.26 vs 0.70 on a tiny mlp_oft policy), and its conv stack is a small share of the weights.
    quant_op_types: list[str] = field(default_factory=lambda: ["MatMul", "Gemm"])
