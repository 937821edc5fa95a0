"""The OpenVLA-style framework end to end from YAML: `train` fits the bins tokenizer and ships it in the
bundle, the bundle reloads with it, ONNX export passes the fp32 parity gate with both decodings (the
autoregressive steps unrolled in the graph), and ONNX Runtime, torch and the service's policy give the
same chunk."""

import json

import numpy as np
import pytest

from librobot.bundle import load_bundle
from librobot.config import load_config
from librobot.inference.observation import check_observation
from librobot.inference.onnx_export import export_policy
from librobot.inference.policy import Policy
from librobot.models.action_tokenizers import ACTION_TOKENIZER_FILE
from librobot.training.run import train
from tests.helpers import tiny_bundle

OVERRIDES = [
    f"robot={tiny_bundle.ROBOT}",
    "model.vlm.image_size=28",  # 2x2 patches of 14 px per camera
    "model.vlm.hidden_size=32",
    "model.vlm.num_layers=1",
    "model.vlm.num_heads=2",
    "model.vlm.vision_hidden_size=16",
    "model.vlm.vision_layers=1",
    "model.vlm.vocab_size=515",  # the byte tokenizer's 259 ids + 256 action ids
    "model.encoder.hidden_dims=[32]",
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


# autoregressive decoding unrolls one cached step of the language model per action value in the graph
# (export time grows with them): chunks of 1 step (6 values) keep its export short
HORIZONS = {"parallel": tiny_bundle.HORIZON, "autoregressive": 1}


@pytest.fixture(scope="module", params=sorted(HORIZONS))
def openvla_bundle(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"openvla_{request.param}")
    dataset = tiny_bundle.write_dataset(root / "dataset")
    overrides = [
        *OVERRIDES,
        f"model.framework.decoding={request.param}",
        f"data.action_horizon={HORIZONS[request.param]}",
        f"data.path={dataset}",
    ]
    return request.param, train(load_config("experiment/openvla", overrides), root / "bundle")


@pytest.mark.slow
def test_openvla_policy_trains_exports_and_serves_the_same_chunk(openvla_bundle):
    from librobot.serving.package import package_metadata
    from librobot.serving.served_policy import load_served_policy, prepare, run_prepared

    decoding, openvla_bundle = openvla_bundle

    saved = json.loads((openvla_bundle / ACTION_TOKENIZER_FILE).read_text())
    assert saved["name"] == "bins" and saved["fitted"] and saved["config"]["bins"] == 256
    bundle = load_bundle(openvla_bundle)
    assert bundle.model.action_tokenizer.to_dict() == saved

    report = export_policy(openvla_bundle)
    assert report["fp32"]["passed"] and report["samples_noise"] is False

    torch_policy = Policy.from_bundle(openvla_bundle, runtime="torch")
    onnx_policy = Policy.from_bundle(openvla_bundle, runtime="onnx", threads=1)
    metadata = json.loads((openvla_bundle / "metadata.json").read_text())
    meta = package_metadata(openvla_bundle, bundle.normalization, metadata, "onnx")
    served = load_served_policy(openvla_bundle / "onnx", meta, "onnx")
    chunks = []
    for seed in range(4):
        obs = tiny_bundle.observation(np.random.default_rng(seed))
        chunk = torch_policy.act(obs)
        assert chunk.shape == (HORIZONS[decoding], 6) and np.isfinite(chunk).all()
        np.testing.assert_allclose(onnx_policy.act(obs), chunk, atol=1e-4)
        answer = run_prepared(served, [prepare(served, check_observation(obs, served.spec), seed=0)])
        np.testing.assert_allclose(answer[0], chunk, atol=1e-4)
        chunks.append(chunk)
    if decoding == "parallel":  # the tokens depend on the observation (a graph that ignored it would agree too)
        assert len({c.tobytes() for c in chunks}) > 1
    # (a 4-step autoregressive model has learnt the actions' marginal alone: it writes the same chunk whatever it
    # sees, and the unit tests show its decoding reads the observation)
