"""Every closed choice of the project as a ``StrEnum``: one place that lists the values a setting takes.

Members are ``str``: they compare equal to the plain strings in YAML and JSON, and ``str()`` gives
the value. Configs keep plain strings (OmegaConf would match enum *names*, and YAML dumps of enum
members fail); ``librobot.config.validate`` checks each config key below against its choice when a
config loads, and code that receives a value from elsewhere parses it with ``Choice.parse``, whose
error names the key and the allowed values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class Choice(StrEnum):
    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, value: Any, key: str) -> Self:
        """``value`` as a member; a ValueError naming ``key`` and the allowed values otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{key} must be one of {', '.join(cls.values())}; got {value!r}") from None


class Runtime(Choice):
    """The engine that runs a policy: torch eager, or an exported ONNX graph (fp32, int8, int4)."""

    TORCH = "torch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"
    ONNX_INT4 = "onnx-int4"


class QuantizeMode(Choice):
    INT8 = "int8"
    INT4 = "int4"


class Int8Mode(Choice):
    DYNAMIC = "dynamic"  # weights int8, activations quantized per call
    STATIC = "static"  # activations calibrated on dataset samples


class NormalizationMode(Choice):
    MEAN_STD = "MEAN_STD"
    MIN_MAX = "MIN_MAX"
    QUANTILES = "QUANTILES"
    IDENTITY = "IDENTITY"


class ActionRepresentation(Choice):
    ABSOLUTE = "absolute"
    DELTA = "delta"  # a_t - a_{t-1}
    RELATIVE = "relative"  # a_t - state


class MixedPrecision(Choice):
    NO = "no"
    BF16 = "bf16"
    FP16 = "fp16"


class ActionMode(Choice):
    """How rollouts execute chunks: ``execute_steps`` of each, or ACT's temporal ensembling."""

    CHUNK = "chunk"
    ENSEMBLE = "ensemble"


class BufferMode(Choice):
    """``ActionBuffer`` modes: the rollout's two plus blending of overlapping chunks (async clients)."""

    CHUNK = "chunk"
    ENSEMBLE = "ensemble"
    BLEND = "blend"


class EvalProtocol(Choice):
    """Published evaluation protocols (``librobot.evaluation.protocols``)."""

    LEROBOT_METAWORLD = "lerobot_metaworld"


class BetaSchedule(Choice):
    LINEAR = "linear"
    SQUAREDCOS_CAP_V2 = "squaredcos_cap_v2"


class ActionDecoding(Choice):
    """How ``openvla_style`` decodes a chunk's action tokens."""

    AUTOREGRESSIVE = "autoregressive"  # OpenVLA: one token per forward pass, each after the previous
    PARALLEL = "parallel"  # OpenVLA-OFT: every token in one pass, placeholders attending to each other


class PromotionStage(Choice):
    STAGING = "staging"
    PRODUCTION = "production"


class Split(Choice):
    TRAIN = "train"
    VAL = "val"
    ALL = "all"


# experiment config keys checked by librobot.config.validate; None is allowed where the key is optional
CONFIG_CHOICES: dict[str, type[Choice]] = {
    "data.action_representation": ActionRepresentation,
    "training.mixed_precision": MixedPrecision,
    "eval.action_mode": ActionMode,
    "eval.runtime": Runtime,
    "eval.protocol": EvalProtocol,
    "export.quantize": QuantizeMode,
    "export.int8_mode": Int8Mode,
    "model.action_head.beta_schedule": BetaSchedule,
    "model.framework.decoding": ActionDecoding,
}
OPTIONAL_CHOICES = {"export.quantize", "eval.protocol"}
