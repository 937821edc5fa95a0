"""Closed choices are checked when a config loads, with the key and the allowed values in the error."""

from __future__ import annotations

import pytest

from librobot.choices import CONFIG_CHOICES, ActionRepresentation, Choice, Runtime
from librobot.config import ConfigError, load_config


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["++data.action_representation=rel"], "'data.action_representation' must be one of absolute, delta, relative"),
        (["++training.mixed_precision=fp8"], "'training.mixed_precision' must be one of no, bf16, fp16"),
        (["++eval.action_mode=blend"], "'eval.action_mode' must be one of chunk, ensemble"),
        (["++eval.runtime=tensorrt"], "'eval.runtime' must be one of torch, onnx, onnx-int8, onnx-int4"),
        (["++export.quantize=int3"], "'export.quantize' must be one of int8, int4"),
        (["++export.int8_mode=weird"], "'export.int8_mode' must be one of dynamic, static"),
        (
            ["model/action_head=diffusion_transformer", "++model.action_head.beta_schedule=cosine"],
            "'model.action_head.beta_schedule' must be one of linear, squaredcos_cap_v2; got 'cosine'",
        ),
        (["++data.normalization.action=ZSCORE"], "'data.normalization.action' must be one of MEAN_STD, MIN_MAX"),
    ],
)
def test_a_wrong_choice_fails_at_config_load_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("experiment/default", overrides)


def test_every_shipped_experiment_holds_allowed_choices_and_optional_ones_may_be_empty():
    from librobot.config import config_dir

    for path in sorted((config_dir() / "experiment").glob("*.yaml")):
        cfg = load_config(f"experiment/{path.stem}")
        assert cfg.export.quantize is None or cfg.export.quantize in CONFIG_CHOICES["export.quantize"].values()


def test_choices_are_plain_strings_where_they_travel():
    import json

    assert Runtime.ONNX_INT8 == "onnx-int8" and str(Runtime.ONNX_INT8) == "onnx-int8"
    assert json.dumps({"runtime": Runtime.parse("onnx", "runtime")}) == '{"runtime": "onnx"}'
    with pytest.raises(
        ValueError, match="data.action_representation must be one of absolute, delta, relative; got 'x'"
    ):
        ActionRepresentation.parse("x", "data.action_representation")
    assert all(issubclass(choice, Choice) for choice in CONFIG_CHOICES.values())
