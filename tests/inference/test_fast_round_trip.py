"""The FAST head end to end from YAML: `train` fits the action tokenizer and ships it in the bundle,
the bundle reloads with it, ONNX export passes the fp32 parity gate with detokenization inside the
graph, and ONNX Runtime, torch and the service's policy give the same chunk."""

import json

import numpy as np
import pytest

from librobot.bundle import BundleError, load_bundle
from librobot.config import load_config
from librobot.inference.observation import check_observation
from librobot.inference.onnx_export import export_policy
from librobot.inference.policy import Policy
from librobot.models.action_tokenizers import ACTION_TOKENIZER_FILE
from librobot.training.run import train
from tests.helpers import tiny_bundle

OVERRIDES = [
    f"robot={tiny_bundle.ROBOT}",
    "model.vlm.hidden_dim=32",
    "model.vlm.image_size=32",
    "model.vlm.image_grid=1",
    "model.vlm.feature_cache=false",
    "model.encoder.hidden_dims=[32]",
    "model.action_head.hidden_dim=32",
    "model.action_head.num_heads=2",
    "model.action_head.num_layers=1",
    "model.action_head.max_tokens=8",
    "model.action_head.tokenizer.vocab_size=96",
    f"data.action_horizon={tiny_bundle.HORIZON}",
    "data.val_fraction=0",
    "training.max_steps=4",
    "training.batch_size=8",
    "training.checkpoint_every=4",
    "training.ema_decay=null",
    "training.tracking=false",
    "training.progress=false",
    "training.num_threads=1",
    "+export.parity_samples=6",
]


@pytest.fixture(scope="module")
def fast_bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    dataset = tiny_bundle.write_dataset(root / "dataset")
    cfg = load_config("experiment/fast", [*OVERRIDES, f"data.path={dataset}"])
    return train(cfg, root / "bundle")


@pytest.mark.slow
def test_fast_policy_trains_exports_and_serves_the_same_chunk(fast_bundle):
    from librobot.serving.package import package_metadata
    from librobot.serving.served_policy import load_served_policy, prepare, run_prepared

    saved = json.loads((fast_bundle / ACTION_TOKENIZER_FILE).read_text())
    assert saved["name"] == "fast" and saved["fitted"]
    assert saved["fit_stats"]["chunks"] == 20  # every frame of the 2 recorded episodes starts a chunk
    bundle = load_bundle(fast_bundle)
    assert bundle.model.action_head.action_tokenizer.to_dict() == saved

    report = export_policy(fast_bundle)
    assert report["fp32"]["passed"] and report["samples_noise"] is False

    torch_policy = Policy.from_bundle(fast_bundle, runtime="torch")
    onnx_policy = Policy.from_bundle(fast_bundle, runtime="onnx", threads=1)
    metadata = json.loads((fast_bundle / "metadata.json").read_text())
    meta = package_metadata(fast_bundle, bundle.normalization, metadata, "onnx")
    served = load_served_policy(fast_bundle / "onnx", meta, "onnx")
    chunks = []
    for seed in range(4):
        obs = tiny_bundle.observation(np.random.default_rng(seed))
        chunk = torch_policy.act(obs)
        assert chunk.shape == (tiny_bundle.HORIZON, 6) and np.isfinite(chunk).all()
        np.testing.assert_allclose(onnx_policy.act(obs), chunk, atol=1e-4)
        answer = run_prepared(served, [prepare(served, check_observation(obs, served.spec), seed=0)])
        np.testing.assert_allclose(answer[0], chunk, atol=1e-4)
        chunks.append(chunk)
    assert len({c.tobytes() for c in chunks}) > 1  # the tokens depend on the observation: not all EOS


def test_resume_reuses_the_tokenizer_the_run_started_with(fast_bundle):
    from librobot.bundle import build_model_for
    from librobot.models.action_tokenizers import load_action_tokenizer, save_action_tokenizer
    from librobot.models.action_tokenizers.fitting import prepare_action_tokenizer

    work = fast_bundle / "train"
    started = load_action_tokenizer(work)
    assert started.to_dict() == json.loads((fast_bundle / ACTION_TOKENIZER_FILE).read_text())
    started.fit_stats["chunks"] = 999  # marks the file: a refit would count 20 chunks
    save_action_tokenizer(started, work)
    bundle = load_bundle(fast_bundle, with_model=False)
    model = build_model_for(bundle.cfg, bundle.normalization)
    resumed = prepare_action_tokenizer(model, bundle.cfg.data, bundle.normalizer, work, resume=True)
    assert resumed.fit_stats["chunks"] == 999 and model.action_head.action_tokenizer is resumed
    refit = prepare_action_tokenizer(model, bundle.cfg.data, bundle.normalizer, work, resume=False)
    assert refit.fit_stats["chunks"] == 20 and refit.encode(np.zeros((4, 6))) == started.encode(np.zeros((4, 6)))


def test_a_fast_bundle_without_its_tokenizer_file_is_refused(fast_bundle, tmp_path):
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(fast_bundle, copy, ignore=shutil.ignore_patterns("train", "onnx"))
    (copy / ACTION_TOKENIZER_FILE).unlink()
    with pytest.raises(BundleError, match=f"{ACTION_TOKENIZER_FILE} is missing: the FASTHead decodes action tokens"):
        load_bundle(copy)
    load_bundle(copy, with_model=False)  # config and metadata still read
