"""Policy round trip on a real (tiny) bundle: torch vs ONNX vs int8, refusal, determinism."""

import json
import shutil

import numpy as np
import onnx
import pytest

from librobot.bundle import load_bundle
from librobot.inference.observation import ObservationError
from librobot.inference.onnx_export import ExportParityError, export_config, parity, quantize_policy
from librobot.inference.policy import Policy
from tests.helpers.tiny_bundle import CAMERAS, INSTRUCTIONS, make_bundle, observation

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2


@pytest.fixture(scope="module")
def policies(exported_bundle):
    return {rt: Policy.from_bundle(exported_bundle, runtime=rt, threads=1) for rt in ("torch", "onnx", "onnx-int8")}


def observations(n=4, seed=0):
    rng = np.random.default_rng(seed)
    out = [observation(rng) for _ in range(n)]
    for o in out[1::2]:
        o["instruction"] = INSTRUCTIONS[1]  # another token length through the dynamic seq axis
    return out


def test_export_writes_graphs_and_records_the_parity_report(exported_bundle):
    onnx_dir = exported_bundle / "onnx"
    assert (onnx_dir / "policy.onnx").is_file() and (onnx_dir / "policy.int8.onnx").is_file()
    report = json.loads((exported_bundle / "metadata.json").read_text())["export"]
    assert report["fp32"]["passed"] and report["int8"]["passed"]
    assert report["fp32"]["max_abs_err"] <= report["fp32"]["gate"]["max_abs_err"]
    assert report["observations"]["source"].startswith("dataset")
    assert report["samples_noise"] is True  # flow matching takes its noise as a graph input
    # the policy graph's matmuls are int8 (QDQ); the instruction's MiniLM lives in text.onnx, kept fp32 (it runs
    # once per instruction), so what int8 saves here is the head's weights: the conv stack stays float
    assert report["int8"]["mode"] == "static" and report["int8"]["size_ratio"] < 1.0
    int8 = onnx.load(str(onnx_dir / "policy.int8.onnx"), load_external_data=False)
    assert sum(node.op_type == "DequantizeLinear" for node in int8.graph.node) > 0


def test_torch_onnx_and_int8_agree_within_the_export_gates(exported_bundle, policies):
    cfg = export_config(load_bundle(exported_bundle, with_model=False).cfg)
    for i, obs in enumerate(observations()):
        torch_chunk = policies["torch"].act(obs, seed=i)
        fp32 = parity(torch_chunk[None], policies["onnx"].act(obs, seed=i)[None])
        int8 = parity(torch_chunk[None], policies["onnx-int8"].act(obs, seed=i)[None])
        # robot units here: gates are in normalized units, so scale by the action normalizer
        scale = np.abs(torch_chunk).max() + 1.0
        assert fp32["max_abs_err"] / scale <= 1e-4 and fp32["cosine"] >= cfg.parity_min_cosine
        assert int8["cosine"] >= cfg.quant_min_cosine


def test_chunks_are_in_robot_units_and_inside_the_action_bounds(policies):
    robot = policies["onnx"].robot
    low, high = robot.bounds("action")
    chunk = policies["onnx"].act(observations(1)[0], seed=0)
    assert chunk.shape == (4, robot.action_dim)
    assert np.all(chunk >= low) and np.all(chunk <= high)


def test_same_seed_gives_the_same_chunk_and_another_seed_does_not(policies):
    obs = observations(1)[0]
    for policy in policies.values():
        # same runtime session, input and shapes: a deterministic replay, exact on any CPU
        np.testing.assert_array_equal(policy.act(obs, seed=7), policy.act(obs, seed=7))
        assert not np.allclose(policy.act(obs, seed=7), policy.act(obs, seed=8))


def test_actions_depend_on_images_and_instruction(policies):
    """Guards the parity tests: a graph that ignored its images or text would pass them trivially."""
    policy = policies["onnx"]
    obs = observations(1)[0]
    base = policy.act(obs, seed=0)
    dark = {**obs, "images": {c: np.zeros_like(v) for c, v in obs["images"].items()}}
    other_text = {**obs, "instruction": INSTRUCTIONS[1]}
    assert np.abs(policy.act(dark, seed=0) - base).max() > 1e-3
    assert np.abs(policy.act(other_text, seed=0) - base).max() > 1e-3


def test_batched_observation_equals_one_by_one(policies):
    policy = policies["onnx"]
    obs = observations(3)
    batched = {
        "images": {c: np.stack([o["images"][c] for o in obs]) for c in CAMERAS},
        "state": np.stack([o["state"] for o in obs]),
        "instruction": [o["instruction"] for o in obs],
    }
    noise = np.concatenate([policy.noise(1, seed) for seed in range(3)])
    together = policy.act(batched, noise=noise)
    assert together.shape == (3, 4, 6)
    for i, o in enumerate(obs):
        # a batch of 3 and a batch of 1 run differently blocked kernels: float32 rounding, relative to the
        # action's magnitude (robot units up to ~160 deg: 1 ulp is ~1.5e-5 there)
        np.testing.assert_allclose(together[i], policy.act(o, seed=i), rtol=1e-5, atol=1e-4)


def test_policy_refuses_observations_that_disagree_with_the_bundle(policies):
    obs = observations(1)[0]
    with pytest.raises(
        ObservationError, match="observation.state has 7 values; the bundle's robot so100_arm expects 12"
    ):
        Policy.act(policies["onnx"], {**obs, "state": obs["state"][:7]})
    with pytest.raises(ObservationError, match="missing camera 'wrist'"):
        policies["torch"].act({**obs, "images": {"front": obs["images"]["front"]}})


def test_unknown_runtime_and_missing_export_are_refused(tmp_path, exported_bundle):
    with pytest.raises(ValueError, match="runtime must be one of"):
        Policy.from_bundle(exported_bundle, runtime="tensorrt")
    with pytest.raises(FileNotFoundError, match="policy.int4.onnx does not exist"):
        Policy.from_bundle(exported_bundle, runtime="onnx-int4")


@pytest.fixture
def bundle_copy(exported_bundle, tmp_path):
    return shutil.copytree(exported_bundle, tmp_path / "bundle")


def test_static_int8_is_batch_invariant_and_dynamic_int8_passes_its_gates(bundle_copy, policies):
    """Static QDQ scales are fixed, so a request's chunk does not depend on its batch neighbours
    (the service batches requests); dynamic int8 computes scales per call and is only gated."""
    policy = policies["onnx-int8"]
    obs = observations(3)
    batched = {
        "images": {c: np.stack([o["images"][c] for o in obs]) for c in CAMERAS},
        "state": np.stack([o["state"] for o in obs]),
        "instruction": [o["instruction"] for o in obs],
    }
    together = policy.act(batched, noise=np.concatenate([policy.noise(1, seed) for seed in range(3)]))
    for i, o in enumerate(obs):
        # a batch of 3 and a batch of 1 run differently blocked kernels: float32 rounding, relative to the
        # action's magnitude (robot units up to ~160 deg: 1 ulp is ~1.5e-5 there)
        np.testing.assert_allclose(together[i], policy.act(o, seed=i), rtol=1e-5, atol=1e-4)

    report = quantize_policy(bundle_copy, "int8", int8_mode="dynamic")
    assert report["int8"]["mode"] == "dynamic" and report["int8"]["passed"]
    assert report["fp32"]["passed"]  # the earlier fp32 report is kept


def test_quantization_that_misses_its_gate_fails_and_leaves_no_graph(bundle_copy):
    cfg = export_config(load_bundle(bundle_copy, with_model=False).cfg)
    cfg.quant_max_abs_err = 0.0  # int4 weights cannot be exact
    with pytest.raises(ExportParityError, match="int4 graph misses its gate"):
        quantize_policy(bundle_copy, "int4", cfg=cfg)
    assert not (bundle_copy / "onnx" / "policy.int4.onnx").exists()
    report = json.loads((bundle_copy / "metadata.json").read_text())["export"]
    assert report["int4"]["passed"] is False and report["int4"]["max_abs_err"] > 0


def test_the_torch_runtime_keeps_no_features_of_the_frames_it_serves(tmp_path):
    """A robot never sends a frame twice: caching its image features would only grow memory up to the
    cap in every serving process. The instruction repeats, so its features stay cached."""
    bundle = make_bundle(tmp_path, extra_overrides=["model.vlm.feature_cache=true", "model.vlm.feature_cache_mb=64"])
    policy = Policy.from_bundle(bundle, runtime="torch")
    vlm = policy.runtime.model.vlm
    first = observations(3, seed=5)
    chunks = [policy.act(obs, seed=0) for obs in first]
    assert len(vlm.image_cache) == 0 and vlm.image_cache.bytes == 0
    assert len(vlm.text_cache) == len({o["instruction"] for o in first}) > 0
    # what a served frame gets is what the uncached network computes
    uncached = Policy.from_bundle(bundle, runtime="torch")
    uncached.runtime.model.vlm.cfg.feature_cache = False
    for obs, chunk in zip(first, chunks, strict=True):
        np.testing.assert_allclose(uncached.act(obs, seed=0), chunk, rtol=1e-5, atol=1e-6)
