"""The ``export`` section of an experiment config: ONNX export and quantization gates."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportConfig:
    opset: int = 18
    # Where the framework encodes the instruction apart (VLAFramework.splits_text), export it as its
    # own graph (onnx/text.onnx) whose output the policy graph takes, so runtimes run the text encoder
    # once per instruction (inference/text_features.py); false: one graph that encodes it every call.
    text_graph: bool = True
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
    # Quantized graphs are judged in closed loop (closed_loop_episodes, quant_max_success_drop); the
    # element-wise gates below only catch a broken graph, and must hold on every CPU of this machine
    # kind: ONNX Runtime's int8 kernels differ between AVX2 (u8s8 through VPMADDUBSW, which can
    # saturate) and AVX-512-VNNI/AMX, so a sound graph's rare worst sample moves between machines.
    # Sound static-int8 graphs measured (normalized actions; QUANTILES / MIN_MAX map the data's range
    # to [-1, 1]): the default policy max abs 0.64 and cosine 0.998 on one machine, worst-sample
    # cosine 0.976, overall 0.996, max abs 0.79 on an AVX-512-VNNI one (issue 13); the wheel loader
    # worst-sample 0.94, overall 0.994, max abs 1.97 (a bounded action flipped across its range at a
    # decision point). A broken graph (wrong scales, a miscompiled kernel) is uncorrelated with
    # torch -- cosine ~0, spread ~1/sqrt(16x4) = 0.125 for one chunk of independent elements -- or NaN.
    # So: every output finite, overall cosine >= 0.9, worst-sample cosine >= 0.5 (far above chance,
    # far below any sound graph), and max abs error <= 4, twice the width of the normalized range (a
    # flip inside the action space errs by ~2 at most). A rejected graph is deleted and the bundle
    # serves fp32: quantization never decides whether a model ships.
    quant_min_cosine: float = 0.5  # worst sample
    quant_min_cosine_overall: float = 0.9  # all samples flattened
    quant_max_abs_err: float = 4.0
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
