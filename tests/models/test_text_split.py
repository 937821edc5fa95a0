"""The instruction apart: ``text_features`` + ``forward_text_features`` / ``export_forward_from_text`` are
the single forward split in two, so a runtime may encode each instruction once (inference/text_features.py)."""

from __future__ import annotations

import pytest
import torch

from librobot.inference.text_features import pad_rows
from librobot.models import build_model

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

DIMS = {"state_dim": 5, "action_dim": 4, "action_horizon": 6, "obs_horizon": 1, "num_cameras": 2}
# one sentence token (the default), one token per word piece (padded per batch), the keypoint image encoder
VLM_VARIANTS = {
    "pooled": [],
    "sequence": ["vlm.text_tokens=sequence"],
    "keypoint_cnn": ["vlm.image_encoder=keypoint_cnn", "vlm.freeze_image=false", "vlm.image_size=32"],
}


def build(tiny_model_cfg, framework="groot_style", overrides=(), vlm="small_pretrained"):
    torch.manual_seed(0)
    return build_model(tiny_model_cfg(vlm, "flow_matching", framework, overrides=list(overrides)), **DIMS).eval()


@pytest.mark.parametrize("variant", list(VLM_VARIANTS))
def test_vlm_forward_equals_forward_on_its_own_text_features(variant, tiny_model_cfg, batch):
    vlm = build(tiny_model_cfg, overrides=VLM_VARIANTS[variant]).vlm
    assert vlm.encodes_text_apart()
    tokens = vlm.tokenize(batch["instruction"])  # three instructions of different lengths
    with torch.no_grad():
        want, want_mask = vlm(batch["images"], tokens["input_ids"], tokens["attention_mask"], use_cache=False)
        text, text_mask = vlm.text_features(tokens["input_ids"], tokens["attention_mask"])
        got, got_mask = vlm.forward_text_features(batch["images"], text, text_mask, use_cache=False)
    n_text = 1 if variant != "sequence" else tokens["input_ids"].shape[1]
    assert text.shape == (3, n_text, vlm.feature_dim) and text_mask.dtype == torch.bool
    assert torch.equal(got_mask, want_mask)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("framework", "variant"), [("groot_style", "pooled"), ("pi0_style", "sequence")])
def test_export_forward_from_text_equals_export_forward(framework, variant, tiny_model_cfg, batch):
    model = build(tiny_model_cfg, framework, VLM_VARIANTS[variant])
    assert model.splits_text()
    tokens = model.tokenize(batch["instruction"])
    noise = torch.randn(model.noise_shape(3), generator=torch.Generator().manual_seed(1))
    args = (batch["images"], batch["state"])
    with torch.no_grad():
        want = model.export_forward(*args, tokens["input_ids"], tokens["attention_mask"], noise)
        text, text_mask = model.text_features(tokens["input_ids"], tokens["attention_mask"])
        got = model.export_forward_from_text(*args, text, text_mask, noise)
        # as the runtime's cache assembles a batch: each instruction encoded alone, its valid tokens
        # kept, padded to the longest with zeros (the padded positions carry nothing)
        alone = [
            model.text_features(ids[None, : int(n)], torch.ones(1, int(n), dtype=torch.long))
            for ids, n in zip(tokens["input_ids"], tokens["attention_mask"].sum(1), strict=True)
        ]
        rows = [t[0][m[0]].numpy() for t, m in alone]
        packed, packed_mask = (torch.from_numpy(x) for x in pad_rows(rows))
        cached = model.export_forward_from_text(*args, packed, packed_mask, noise)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(cached, want, atol=1e-5, rtol=0)


def test_a_vlm_that_mixes_image_and_text_keeps_one_graph(tiny_model_cfg):
    model = build(tiny_model_cfg, vlm="smolvlm")  # its language model reads [image tokens; instruction]
    assert not model.vlm.encodes_text_apart() and not model.splits_text()
    with pytest.raises(NotImplementedError, match="cannot take the instruction's features apart"):
        model.export_forward_from_text(
            torch.zeros(1, 2, 3, 56, 56, dtype=torch.uint8), torch.zeros(1, 1, 5), torch.zeros(1, 1, 32), None
        )
