"""Quantization never decides whether a model ships: a rejected int8 graph leaves an fp32 package that says why.

The element-wise gates only catch a broken graph (cosine near 0, NaN), with room for the rare
decision-point flips a sound int8 graph shows on AVX2 or AVX-512-VNNI kernels (issue 13: worst-sample
cosine 0.976 on this machine kind, 0.94 on the wheel loader). ``try_quantize`` is the body of the
ZenML quantize step and the Kubeflow quantize component.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from librobot.inference.config import ExportConfig
from librobot.inference.onnx_export import _gate, parity, quantization_notes, try_quantize

pytestmark = pytest.mark.slow  # one tiny bundle exported to fp32, then quantized three times (~1-2 min)

DEFAULT = ExportConfig()


def _default_gate(metrics):
    return _gate("int8", metrics, DEFAULT.quant_max_abs_err, DEFAULT.quant_min_cosine, DEFAULT.quant_min_cosine_overall)


@pytest.mark.parametrize(
    "measured",
    [
        # issue 13, this AVX-512-VNNI machine: static int8 of the trained default policy
        {"max_abs_err": 0.79, "mean_abs_err": 0.023, "cosine": 0.996, "cosine_min_sample": 0.976, "finite": True},
        # the wheel loader: one bounded action flipped across its range at a decision point
        {"max_abs_err": 1.97, "mean_abs_err": 0.014, "cosine": 0.994, "cosine_min_sample": 0.94, "finite": True},
    ],
)
def test_sound_int8_graphs_pass_the_element_wise_gates(measured):
    assert _default_gate(measured)["passed"]


def test_broken_graphs_fail_the_element_wise_gates():
    rng = np.random.default_rng(0)
    reference = np.clip(rng.normal(0, 0.5, (16, 16, 4)), -1, 1)  # 16 chunks of 16 normalized actions
    broken = {
        "uncorrelated": rng.uniform(-1, 1, reference.shape),
        "zeros": np.zeros_like(reference),
        "nan": np.where(np.arange(reference.size).reshape(reference.shape) == 5, np.nan, reference),
        "scaled x10": 10 * reference,
        "sign flipped": -reference,
    }
    for name, output in broken.items():
        assert not _default_gate(parity(reference, output))["passed"], name
    assert _default_gate(parity(reference, reference + rng.normal(0, 0.02, reference.shape)))["passed"]


@pytest.fixture(scope="module")
def fp32_bundle(tmp_path_factory):
    """The inference tests' tiny bundle (so100_arm, no simulator), exported to fp32 ONNX only."""
    from librobot.inference.onnx_export import export_policy
    from tests.helpers.tiny_bundle import make_bundle

    bundle = make_bundle(tmp_path_factory.mktemp("quantize"))
    export_policy(bundle)
    return bundle


def _copy(bundle, tmp_path):
    return shutil.copytree(bundle, tmp_path / "bundle")


def _metadata(bundle):
    return json.loads((bundle / "metadata.json").read_text())


def test_a_passing_int8_graph_is_packaged_as_the_served_runtime(fp32_bundle, tmp_path):
    import bentoml

    from librobot.serving.package import package_policy

    bundle = _copy(fp32_bundle, tmp_path)
    entry = try_quantize(bundle, "int8")
    assert entry["passed"] and entry["runtime"] == "onnx-int8" and "rejected" not in entry
    assert (bundle / "onnx" / "policy.int8.onnx").is_file()
    assert "int8_rejected" not in _metadata(bundle)["export"]
    assert quantization_notes(entry) == {"runtime": "onnx-int8"}
    metadata = bentoml.models.get(package_policy(bundle, name="quantize_pass", runtime="onnx-int8")).info.metadata
    assert metadata["runtime"] == "onnx-int8" and "int8_rejected" not in metadata
    # by default the package times both graphs here and serves int8 only where it is faster
    chosen = bentoml.models.get(package_policy(bundle, name="quantize_pass")).info.metadata
    choice = chosen["runtime_choice"]
    assert chosen["runtimes"] == ["onnx", "onnx-int8"] and chosen["runtime"] == choice["runtime"]
    assert set(choice["latency_ms"]) == {"onnx", "onnx-int8"} and choice["reason"] and choice["machine"]


def test_an_int8_graph_that_misses_its_gate_leaves_an_fp32_package_that_says_why(fp32_bundle, tmp_path):
    import bentoml

    from librobot.serving.package import package_policy

    bundle = _copy(fp32_bundle, tmp_path)
    entry = try_quantize(bundle, "int8", quant_min_cosine=1.01)  # a gate no graph passes
    assert not entry["passed"] and entry["runtime"] == "onnx"
    assert "int8 graph misses its gate" in entry["rejected"] and "worst-sample cosine" in entry["rejected"]
    assert not (bundle / "onnx" / "policy.int8.onnx").exists()
    assert _metadata(bundle)["export"]["int8_rejected"] == entry["rejected"]
    assert quantization_notes(entry) == {"runtime": "onnx", "int8_rejected": entry["rejected"]}
    metadata = bentoml.models.get(package_policy(bundle, name="quantize_rejected")).info.metadata
    assert metadata["runtime"] == "onnx" and metadata["runtimes"] == ["onnx"]
    assert metadata["int8_rejected"] == entry["rejected"]


def test_a_failing_quantizer_is_a_rejection_not_a_failed_run(fp32_bundle, tmp_path, monkeypatch):
    import librobot.inference.onnx_export as onnx_export

    def crash(*args, **kwargs):
        raise RuntimeError("quantizer crashed")

    bundle = _copy(fp32_bundle, tmp_path)
    (bundle / "onnx" / "policy.int8.onnx").write_bytes(b"stale graph of an earlier run")
    monkeypatch.setattr(onnx_export, "quantize_int8", crash)
    entry = try_quantize(bundle, "int8")
    assert not entry["passed"] and entry["rejected"] == "RuntimeError: quantizer crashed"
    assert not (bundle / "onnx" / "policy.int8.onnx").exists()  # never serve a graph that was not checked
    assert _metadata(bundle)["export"]["int8_rejected"] == entry["rejected"]


def test_the_closed_loop_gate_is_the_runner_the_caller_passes(fp32_bundle, tmp_path):
    """Export does not import evaluation: the closed-loop gate runs what the pipeline (or CLI) hands it."""
    from librobot.inference.onnx_export import MissingClosedLoopRunner

    bundle = _copy(fp32_bundle, tmp_path)
    with pytest.raises(MissingClosedLoopRunner, match="pass closed_loop=librobot.evaluation.closed_loop_comparison"):
        try_quantize(bundle, "int8", closed_loop_episodes=2)  # a missing runner is not an int8 rejection
    calls = []

    def worse_in_closed_loop(bundle_dir, runtime, episodes, max_drop):
        calls.append((runtime, episodes, max_drop))
        return {"success_fp32": 0.9, "success_quantized": 0.5, "drop": 0.4, "max_drop": max_drop, "passed": False}

    entry = try_quantize(bundle, "int8", closed_loop=worse_in_closed_loop, closed_loop_episodes=2)
    assert calls == [("onnx-int8", 2, DEFAULT.quant_max_success_drop)]
    assert not entry["passed"] and "closed-loop success 0.50 vs fp32 0.90" in entry["rejected"]
    assert not (bundle / "onnx" / "policy.int8.onnx").exists()
