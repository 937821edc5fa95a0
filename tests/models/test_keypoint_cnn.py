"""The trainable keypoint image encoder: spatial softmax finds where a map peaks, the random shift moves
pixels only while training, the small VLM builds it as one token per camera, it trains end to end and
exports to ONNX with Runtime parity."""

from __future__ import annotations

import pytest
import torch

from librobot.models import build_model
from librobot.models.vlm.keypoint_cnn import KeypointCNN, SpatialSoftmax, random_shift
from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

KEYPOINT_VLM = {
    "name": "small_pretrained",
    "hidden_dim": 32,
    "image_size": 32,
    "image_encoder": "keypoint_cnn",
    "freeze_image": False,
    "cnn_channels": [8, 8],
    "keypoints": 4,
    "augment_shift": 2,
    "feature_cache_mb": 8,
}


def test_spatial_softmax_returns_the_coordinates_of_a_sharp_peak():
    softmax = SpatialSoftmax(5, 9)
    maps = torch.full((1, 2, 5, 9), -50.0)
    maps[0, 0, 0, 8] = 50.0  # top right
    maps[0, 1, 2, 4] = 50.0  # centre
    torch.testing.assert_close(softmax(maps), torch.tensor([[[1.0, -1.0], [0.0, 0.0]]]))


def test_random_shift_moves_content_within_the_pad_and_keeps_the_shape():
    image = torch.zeros(64, 1, 12, 12)
    image[:, :, 6, 6] = 1.0
    shifted = random_shift(image, 2, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == image.shape
    rows, cols = [torch.stack([torch.nonzero(s[0])[0][i] for s in shifted]) for i in (0, 1)]
    assert rows.min() >= 4 and rows.max() <= 8 and cols.min() >= 4 and cols.max() <= 8
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 10  # per-image offsets, not one for all
    assert random_shift(image, 0) is image


def test_keypoint_cnn_outputs_two_coordinates_per_keypoint_in_range():
    net = KeypointCNN(image_size=32, channels=[8, 8, 16], keypoints=5)
    out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10) and net.output_dim == 10
    assert out.abs().max() <= 1.0


def test_small_vlm_with_keypoints_gives_one_trainable_token_per_camera():
    torch.manual_seed(0)
    vlm = build("vlm", KEYPOINT_VLM, num_cameras=2)
    images = torch.randint(0, 256, (3, 2, 3, 40, 48), dtype=torch.uint8)
    ids = vlm.tokenize(["push the puck", "reach", "open the drawer"])
    tokens, mask = vlm(images, ids["input_ids"], ids["attention_mask"])
    assert tokens.shape == (3, 2 + 1, 32) and mask.all()  # one token per camera, then the instruction
    tokens.sum().backward()
    assert all(p.grad is not None for p in vlm.image_encoder.parameters())
    assert not any(p.requires_grad for p in vlm.text_encoder.parameters())  # the instruction stays frozen
    vlm.eval()
    with torch.no_grad():  # no augmentation at inference: the same frame gives the same token
        a, _ = vlm(images, ids["input_ids"], ids["attention_mask"])
        b, _ = vlm(images, ids["input_ids"], ids["attention_mask"])
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_keypoint_options_refuse_what_cannot_train():
    with pytest.raises(ValueError, match="keypoint_cnn trains from scratch: set vlm.freeze_image=false"):
        build("vlm", {**KEYPOINT_VLM, "augment_shift": 0, "freeze_image": True})
    with pytest.raises(ValueError, match="vlm.augment_shift=4 needs vlm.freeze_image=false"):
        build("vlm", {"name": "small_pretrained", "augment_shift": 4})
    with pytest.raises(ValueError, match="vlm.image_encoder must be one of efficientnet_lite0, keypoint_cnn"):
        build("vlm", {**KEYPOINT_VLM, "image_encoder": "resnet"})


@pytest.mark.slow
def test_keypoint_policy_exports_to_onnx_with_runtime_parity(tmp_path, tiny_model_cfg, make_batch):
    from tests.models.test_export import assert_onnx_matches_torch

    torch.manual_seed(0)
    overrides = [f"vlm.{key}={value}" for key, value in KEYPOINT_VLM.items() if key not in ("name", "hidden_dim")]
    cfg = tiny_model_cfg("small_pretrained", "flow_matching", "groot_style", overrides=overrides)
    model = build_model(cfg, state_dim=5, action_dim=4, action_horizon=6, obs_horizon=1, num_cameras=2).eval()
    assert_onnx_matches_torch(model, make_batch(batch_size=2), tmp_path)
