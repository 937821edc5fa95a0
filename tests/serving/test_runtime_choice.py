"""The package serves a quantized graph by default only where it is faster than fp32 on that machine."""

import pytest

from librobot.serving.runtime_choice import MIN_SPEEDUP, choose_runtime


def test_a_quantized_graph_fast_enough_is_served():
    runtime, reason = choose_runtime({"onnx": 20.0, "onnx-int8": 20.0 / (MIN_SPEEDUP + 0.1)})
    assert runtime == "onnx-int8" and "faster than fp32" in reason


@pytest.mark.parametrize("int8_ms", [23.8, 20.0, 19.0])  # slower (AVX-512 Xeon, measured), equal, 5% faster
def test_a_quantized_graph_that_does_not_pay_leaves_fp32_served_and_says_why(int8_ms):
    runtime, reason = choose_runtime({"onnx": 20.0, "onnx-int8": int8_ms})
    assert runtime == "onnx" and "serving fp32" in reason and f"{int8_ms:.1f} ms" in reason


def test_without_a_quantized_graph_fp32_is_served():
    assert choose_runtime({"onnx": 12.0}) == ("onnx", "no quantized graph passed its gates")
