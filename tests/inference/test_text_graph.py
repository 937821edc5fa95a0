"""The split export: text.onnx encodes each instruction once, policy.onnx takes its features; the fp32
gate covers both graphs against torch; the runtime's cache is keyed by token ids; old single-graph
bundles still run."""

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest

from librobot.bundle import load_bundle
from librobot.inference.onnx_export import export_policy, model_feeds, ort_outputs, parity, torch_reference
from librobot.inference.policy import Policy
from librobot.inference.runtime import OrtRuntime
from librobot.inference.samples import recorded_observations
from librobot.inference.text_features import TEXT_ONNX_FILE, TextFeatures
from tests.helpers.tiny_bundle import INSTRUCTIONS, make_bundle, observation

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

OTHER = "put the cube back where it was"  # a third instruction, longer than the bundle's two


def graph_inputs(path):
    return [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


def batch_inputs(policy, instructions, seed=0):
    """Model inputs of len(instructions) distinct observations: uint8 images, normalized state, noise."""
    rng = np.random.default_rng(seed)
    obs = [observation(rng) for _ in instructions]
    images = np.stack([[np.moveaxis(o["images"][c], -1, 0) for c in policy.spec.cameras] for o in obs])
    state = policy.normalize_state(np.stack([o["state"] for o in obs])[:, None, :])
    noise = rng.standard_normal((len(obs), policy.action_horizon, policy.robot.action_dim)).astype(np.float32)
    return images, state, noise


def test_split_export_writes_both_graphs_and_gates_the_whole_path(exported_bundle):
    onnx_dir = exported_bundle / "onnx"
    assert graph_inputs(onnx_dir / TEXT_ONNX_FILE) == ["input_ids", "attention_mask"]
    for name in ("policy.onnx", "policy.int8.onnx"):
        assert graph_inputs(onnx_dir / name) == ["images", "state", "text_tokens", "text_mask", "noise"]
    report = json.loads((exported_bundle / "metadata.json").read_text())["export"]
    assert report["text_graph"]["file"] == TEXT_ONNX_FILE and report["text_graph"]["max_abs_err"] < 1e-4
    assert report["fp32"]["passed"] and report["int8"]["passed"]


def test_text_and_policy_graphs_together_match_torch_export_forward(exported_bundle):
    bundle = load_bundle(exported_bundle)
    obs = recorded_observations(bundle, 6, seed=3)
    feeds = model_feeds(bundle.model, bundle.normalizer, obs, seed=3)
    assert len(set(obs.instructions)) == 2  # both instructions: two rows of the text graph's cache
    got = ort_outputs(exported_bundle / "onnx" / "policy.onnx", feeds)
    metrics = parity(torch_reference(bundle.model, feeds), got)
    assert metrics["max_abs_err"] < 1e-4 and metrics["cosine_min_sample"] > 0.9999


def test_the_same_instruction_runs_the_text_graph_once(exported_bundle):
    policy = Policy.from_bundle(exported_bundle, runtime="onnx", threads=1)
    text = policy.runtime.text
    rng = np.random.default_rng(0)
    for i in range(5):
        policy.act(observation(rng), seed=i)  # new images and state every call, one instruction
    assert (text.graph_calls, text.misses, text.hits, len(text)) == (1, 1, 4, 1)


def test_different_instructions_in_one_batch_get_their_own_features(exported_bundle):
    policy = Policy.from_bundle(exported_bundle, runtime="onnx", threads=1)
    reference = Policy.from_bundle(exported_bundle, runtime="torch")
    instructions = [INSTRUCTIONS[0], OTHER, INSTRUCTIONS[1], INSTRUCTIONS[0], OTHER]
    images, state, noise = batch_inputs(policy, instructions)
    together = policy.predict_normalized(images, state, instructions, noise=noise)
    text = policy.runtime.text
    assert (text.graph_calls, text.misses, text.hits) == (1, 3, 2)  # three new instructions in one text call
    for i, instruction in enumerate(instructions):
        one = slice(i, i + 1)
        alone = policy.predict_normalized(images[one], state[one], [instruction], noise=noise[one])
        want = reference.predict_normalized(images[one], state[one], [instruction], noise=noise[one])
        np.testing.assert_allclose(together[one], alone, atol=1e-5)
        np.testing.assert_allclose(alone, want, atol=1e-4)
    assert text.graph_calls == 1  # every later call was served from the cache


def test_the_cache_keys_on_token_ids_whatever_the_padding_and_evicts_the_oldest(exported_bundle):
    onnx_dir = exported_bundle / "onnx"
    policy = Policy.from_bundle(exported_bundle, runtime="onnx", threads=1)
    tokens = policy.runtime.tokenizer([INSTRUCTIONS[0], OTHER])  # the first padded to the second's length
    alone = policy.runtime.tokenizer([INSTRUCTIONS[0]])
    assert tokens["input_ids"].shape[1] > alone["input_ids"].shape[1]
    assert TextFeatures.key(tokens["input_ids"][0], tokens["attention_mask"][0]) == TextFeatures.key(
        alone["input_ids"][0], alone["attention_mask"][0]
    )
    text = TextFeatures(onnx_dir / TEXT_ONNX_FILE, threads=1, max_entries=2)
    for instruction in (INSTRUCTIONS[0], INSTRUCTIONS[1], OTHER, OTHER, INSTRUCTIONS[0]):
        t = policy.runtime.tokenizer([instruction])
        text(t["input_ids"], t["attention_mask"])
    assert (text.graph_calls, len(text)) == (4, 2)  # the first instruction was evicted by the third, then recomputed


def test_concurrent_callers_each_get_their_own_instructions_features(exported_bundle):
    policy = Policy.from_bundle(exported_bundle, runtime="onnx", threads=1)
    text = TextFeatures(exported_bundle / "onnx" / TEXT_ONNX_FILE, threads=1)
    texts = [INSTRUCTIONS[0], INSTRUCTIONS[1], OTHER] * 8
    batches = [policy.runtime.tokenizer([t]) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda b: text(b["input_ids"], b["attention_mask"])[0], batches))
    fresh = TextFeatures(exported_bundle / "onnx" / TEXT_ONNX_FILE, threads=1)
    for b, row in zip(batches, got, strict=True):
        np.testing.assert_array_equal(row, fresh(b["input_ids"], b["attention_mask"])[0])
    assert len(text) == 3 and text.hits + text.misses == len(texts)


def test_an_old_single_graph_bundle_still_runs_and_agrees_with_the_split_one(single_graph_bundle, exported_bundle):
    onnx_dir = single_graph_bundle / "onnx"
    assert not (onnx_dir / TEXT_ONNX_FILE).exists()
    assert graph_inputs(onnx_dir / "policy.onnx") == ["images", "state", "input_ids", "attention_mask", "noise"]
    assert json.loads((single_graph_bundle / "metadata.json").read_text())["export"]["text_graph"] is None
    old = Policy.from_bundle(single_graph_bundle, runtime="onnx", threads=1)
    split = Policy.from_bundle(exported_bundle, runtime="onnx", threads=1)
    assert old.runtime.text is None
    instructions = [INSTRUCTIONS[0], OTHER, INSTRUCTIONS[1]]
    images, state, noise = batch_inputs(old, instructions, seed=4)
    np.testing.assert_allclose(
        old.predict_normalized(images, state, instructions, noise=noise),
        split.predict_normalized(images, state, instructions, noise=noise),
        atol=1e-4,
    )


def test_a_policy_graph_without_its_text_graph_is_refused_by_name(exported_bundle, tmp_path):
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(exported_bundle / "onnx", onnx_dir, ignore=shutil.ignore_patterns(TEXT_ONNX_FILE))
    with pytest.raises(FileNotFoundError, match="text.onnx is missing.*takes the instruction's features"):
        OrtRuntime(onnx_dir / "policy.onnx", onnx_dir / "tokenizer")


@pytest.mark.slow
def test_word_piece_text_tokens_export_split_with_parity(tmp_path):
    """``text_tokens: sequence``: the policy graph's text inputs have a dynamic length; instructions of
    different lengths in one batch are padded by the cache and still match torch."""
    bundle = make_bundle(tmp_path, extra_overrides=["model.vlm.text_tokens=sequence"])
    report = export_policy(bundle)
    assert report["fp32"]["passed"] and report["text_graph"]["tokens"] > 1
    policy = Policy.from_bundle(bundle, runtime="onnx", threads=1)
    reference = Policy.from_bundle(bundle, runtime="torch")
    instructions = [INSTRUCTIONS[1], OTHER, INSTRUCTIONS[0]]
    images, state, noise = batch_inputs(policy, instructions, seed=5)
    got = policy.predict_normalized(images, state, instructions, noise=noise)
    np.testing.assert_allclose(got, reference.predict_normalized(images, state, instructions, noise=noise), atol=1e-4)
    lengths = policy.runtime.text(**policy.runtime.tokenizer(instructions))[1].sum(1)
    assert len(set(lengths.tolist())) == 3  # three lengths in one batch
