"""export_forward is one pure graph: it exports with torch.onnx (dynamo) and ONNX Runtime matches torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from librobot.models import build_model

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

INPUTS = ["images", "state", "input_ids", "attention_mask", "noise"]


class ExportForward(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images, state, input_ids, attention_mask, noise):
        return self.model.export_forward(images, state, input_ids, attention_mask, noise)


@pytest.mark.slow
def test_pi0_flow_policy_exports_to_onnx_with_runtime_parity(tmp_path, tiny_model_cfg, make_batch):
    torch.manual_seed(0)
    cfg = tiny_model_cfg(
        "small_pretrained", "flow_matching", "pi0_style", overrides=["action_head.num_inference_steps=3"]
    )
    model = build_model(cfg, state_dim=5, action_dim=4, action_horizon=6, obs_horizon=1, num_cameras=2).eval()
    assert_onnx_matches_torch(model, make_batch(batch_size=2), tmp_path)


def assert_onnx_matches_torch(model, batch, tmp_path) -> None:
    """Export ``model.export_forward`` on ``batch`` (first 2 samples) with torch.onnx and compare ONNX Runtime to torch."""
    import onnxruntime as ort

    tokens = model.tokenize(batch["instruction"][:2])
    args = (
        batch["images"],
        batch["state"],
        tokens["input_ids"],
        tokens["attention_mask"],
        torch.randn(model.noise_shape(2)),
    )
    path = tmp_path / "policy.onnx"
    torch.onnx.export(ExportForward(model), args, str(path), dynamo=True, external_data=False, input_names=INPUTS)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: t.numpy() for name, t in zip(INPUTS, args, strict=True)})[0]
    with torch.no_grad():
        want = model.export_forward(*args).numpy()
    assert np.abs(got - want).max() < 1e-4
