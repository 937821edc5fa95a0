"""The Octo-style framework end to end from YAML (experiment/octo at tiny sizes): `train` writes a bundle
that reloads as an OctoStyle, ONNX export of its block-causal transformer and diffusion head passes the
fp32 parity gate, and ONNX Runtime, torch and the service's policy give the same chunk."""

import json

import numpy as np
import pytest

from librobot.bundle import load_bundle
from librobot.config import load_config
from librobot.inference.observation import check_observation
from librobot.inference.onnx_export import export_policy
from librobot.inference.policy import Policy
from librobot.training.run import train
from tests.helpers import tiny_bundle

OVERRIDES = [
    f"robot={tiny_bundle.ROBOT}",
    "model.vlm.hidden_dim=32",
    "model.vlm.image_size=32",
    "model.vlm.image_grid=1",
    "model.vlm.feature_cache=false",
    "model.vlm.text_tokens=sequence",  # task tokens per word piece: the instruction length is a dynamic axis
    "model.encoder.hidden_dims=[32]",
    "model.framework.num_layers=1",
    "model.framework.num_heads=2",
    "model.framework.num_readouts=2",
    "model.action_head.hidden_dim=32",
    "model.action_head.num_heads=2",
    "model.action_head.num_layers=1",
    "model.action_head.num_inference_steps=2",
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


@pytest.mark.slow
@pytest.mark.numeric
def test_octo_policy_trains_exports_and_serves_the_same_chunk(tmp_path):
    from librobot.models.frameworks.octo_style import OctoStyle
    from librobot.serving.package import package_metadata
    from librobot.serving.served_policy import load_served_policy, prepare, run_prepared

    dataset = tiny_bundle.write_dataset(tmp_path / "dataset")
    cfg = load_config("experiment/octo", [*OVERRIDES, f"data.path={dataset}"])
    bundle_dir = train(cfg, tmp_path / "bundle")
    bundle = load_bundle(bundle_dir)
    assert isinstance(bundle.model, OctoStyle) and bundle.cfg.model.framework["name"] == "octo_style"

    report = export_policy(bundle_dir)
    assert report["fp32"]["passed"], report["fp32"]

    torch_policy = Policy.from_bundle(bundle_dir, runtime="torch")
    onnx_policy = Policy.from_bundle(bundle_dir, runtime="onnx", threads=1)
    metadata = json.loads((bundle_dir / "metadata.json").read_text())
    meta = package_metadata(bundle_dir, bundle.normalization, metadata, "onnx")
    served = load_served_policy(bundle_dir / "onnx", meta, "onnx")
    chunks = []
    for seed, instruction in enumerate(tiny_bundle.INSTRUCTIONS * 2):  # two instruction lengths
        obs = dict(tiny_bundle.observation(np.random.default_rng(seed)), instruction=instruction)
        chunk = torch_policy.act(obs, seed=0)
        assert chunk.shape == (tiny_bundle.HORIZON, 6) and np.isfinite(chunk).all()
        np.testing.assert_allclose(onnx_policy.act(obs, seed=0), chunk, atol=1e-4)
        answer = run_prepared(served, [prepare(served, check_observation(obs, served.spec), seed=0)])
        np.testing.assert_allclose(answer[0], chunk, atol=1e-4)
        chunks.append(chunk)
    assert len({c.tobytes() for c in chunks}) == len(chunks)  # same noise, other observations: other chunks
