"""Export of the heads that do not sample (mlp_oft, act: no noise input): one graph, parity with torch."""

import json

import numpy as np
import pytest

from librobot.inference.onnx_export import export_policy
from librobot.inference.policy import Policy
from tests.helpers import tiny_bundle

HEADS = {
    "mlp_oft": {"name": "mlp_oft", "hidden_dim": 32, "num_layers": 1, "num_heads": 2, "mlp_hidden_dims": [32]},
    "act": {
        "name": "act",
        "hidden_dim": 32,
        "num_heads": 2,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "vae_layers": 1,
        "latent_dim": 8,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("head", sorted(HEADS))
def test_non_sampling_head_exports_without_a_noise_input_and_matches_torch(tmp_path, monkeypatch, head):
    monkeypatch.setattr(tiny_bundle, "HEAD", HEADS[head])
    bundle = tiny_bundle.make_bundle(tmp_path)
    report = export_policy(bundle)
    assert report["fp32"]["passed"] and report["samples_noise"] is False
    assert json.loads((bundle / "metadata.json").read_text())["export"]["fp32"]["passed"]
    onnx_policy = Policy.from_bundle(bundle, runtime="onnx", threads=1)
    assert "noise" not in onnx_policy.runtime.input_names and onnx_policy.noise(1, 0) is None
    obs = tiny_bundle.observation(np.random.default_rng(3))
    torch_chunk = Policy.from_bundle(bundle, runtime="torch").act(obs)
    np.testing.assert_allclose(onnx_policy.act(obs), torch_chunk, atol=1e-3, rtol=1e-4)
