"""The state tokenizer (model/encoder=state_tokens): binning at the edges, tokens per value or per step,
padded steps, and the encoder inside the default framework (trains, exports with ONNX Runtime parity)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from librobot.models import build_model
from librobot.models.encoders.state_tokens import StateTokenEncoder, quantize
from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

MODES = ["per_feature", "per_step"]


def just_below(x: float) -> float:
    """The float32 next to ``x`` towards -inf (state tensors are float32)."""
    return float(np.nextafter(np.float32(x), np.float32(-np.inf)))


def encoder(obs_horizon: int = 1, input_dim: int = 5, **cfg) -> StateTokenEncoder:
    torch.manual_seed(0)
    node = {"name": "state_tokens", **cfg}
    return build("encoder", node, input_dim=input_dim, output_dim=8, obs_horizon=obs_horizon).eval()


def test_quantize_puts_edges_in_the_bin_above_and_clamps_out_of_range_values():
    # 4 bins over [-1, 1], w = 0.5: bin i covers [-1 + 0.5 i, -0.5 + 0.5 i); high itself is in the last bin
    values = torch.tensor([-1.0, just_below(-0.5), -0.5, 0.0, 0.49, 0.5, 1.0, -1.5, 7.0, -math.inf, math.inf])
    assert quantize(values, 4, -1.0, 1.0).tolist() == [0, 0, 1, 2, 2, 3, 3, 0, 3, 0, 3]
    # the defaults, 256 bins over [-1, 1]; -2**-24 is the closest to the edge 0 that x - low (= x + 1)
    # keeps apart from it in float32: closer values round onto the edge
    values = torch.tensor([-1.0, just_below(-0.5), -0.5, -(2**-24), 0.0, 1.0 - 2 / 256, just_below(1.0), 1.0])
    assert quantize(values, 256, -1.0, 1.0).tolist() == [0, 63, 64, 127, 128, 255, 255, 255]
    # a range for MEAN_STD z-scores
    assert quantize(torch.tensor([-3.0, -2.0, 0.0, 2.99, 3.0]), 6, -3.0, 3.0).tolist() == [0, 1, 3, 5, 5]
    assert quantize(values, 256, -1.0, 1.0).dtype == torch.int64


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"bins": 1}, r"encoder\.bins must be >= 2"),
        ({"low": 1.0, "high": 1.0}, r"encoder\.low and encoder\.high must be finite with low < high"),
        ({"high": math.inf}, r"low < high.*high=inf"),
        ({"tokens": "per_token"}, r"encoder\.tokens must be one of per_feature, per_step; got 'per_token'"),
        ({"bin": 64}, r"encoder\.bin \(encoder 'state_tokens'\)"),
    ],
)
def test_a_bad_setting_fails_naming_its_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        encoder(**cfg)


@pytest.mark.parametrize("mode", MODES)
def test_tokens_change_when_a_value_crosses_a_bin_edge_and_not_within_a_bin(mode):
    enc = encoder(bins=8, tokens=mode)  # w = 0.25: [0, 0.25) is bin 4
    state = torch.tensor([[0.01, -0.6, 0.3, 0.9, -0.95]])
    with torch.no_grad():
        out = enc(state)
        within = state.clone()
        within[0, 0] = 0.2499
        assert torch.equal(enc(within), out)
        crossed = state.clone()
        crossed[0, 0] = 0.25
        changed = enc(crossed)
    if mode == "per_feature":  # only the token of the value that moved
        assert not torch.allclose(changed[:, 0], out[:, 0]) and torch.equal(changed[:, 1:], out[:, 1:])
    else:
        assert not torch.allclose(changed, out)


@pytest.mark.parametrize("mode", MODES)
def test_output_shapes_for_a_step_and_a_window(mode):
    per_step = mode == "per_step"
    one = encoder(tokens=mode)
    assert one(torch.randn(3, 5)).shape == ((3, 1, 8) if per_step else (3, 5, 8))
    assert torch.equal(one(torch.zeros(3, 5)), one(torch.zeros(3, 1, 5)))
    window = encoder(obs_horizon=3, tokens=mode)
    assert window(torch.randn(3, 3, 5)).shape == ((3, 3, 8) if per_step else (3, 15, 8))
    with pytest.raises(ValueError, match=r"expects \[B, 3, 5\]"):
        window(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"expects \[B, 3, 5\]"):
        window(torch.randn(3, 2, 5))


def test_tokens_tell_features_and_steps_apart():
    with torch.no_grad():
        tokens = encoder(obs_horizon=2)(torch.zeros(1, 2, 5))  # every value in the same bin
        assert torch.unique(tokens[0], dim=0).shape[0] == 10  # 5 features x 2 steps, all distinct
        # per_step: one token per step, and still which value belongs to which feature
        enc = encoder(tokens="per_step")
        a = enc(torch.tensor([[0.5, -0.5, 0.0, 0.0, 0.0]]))
        swapped = enc(torch.tensor([[-0.5, 0.5, 0.0, 0.0, 0.0]]))
        assert not torch.allclose(a, swapped, atol=1e-3)


@pytest.mark.parametrize("mode", MODES)
def test_a_padded_step_never_reaches_the_real_steps_and_keeps_its_tokens(mode):
    """As the history encoder guarantees by masking: the real steps do not see a padded step. Its own
    tokens stay those of its value (the dataset and Policy both pad by repeating the first state, and
    serving passes no padding flags), so training and serving see the same tokens."""
    enc = encoder(obs_horizon=3, tokens=mode)
    per_step = 1 if mode == "per_step" else 5
    state = torch.rand(2, 3, 5) * 2 - 1
    pad = torch.tensor([[True, False, False], [False, False, False]])
    with torch.no_grad():
        out = enc(state, pad)
        assert out.shape[1] == 3 * per_step
        assert torch.equal(out, enc(state))
        changed = state.clone()
        changed[0, 0] = -changed[0, 0]  # the padded step of sample 0
        moved = enc(changed, pad)
    assert torch.equal(moved[0, per_step:], out[0, per_step:]) and torch.equal(moved[1], out[1])


def _model(tiny_model_cfg, mode: str):
    torch.manual_seed(0)
    cfg = tiny_model_cfg(
        "small_pretrained",
        "flow_matching",
        "groot_style",
        encoder="state_tokens",
        overrides=[f"encoder.tokens={mode}", "encoder.bins=32", "action_head.num_inference_steps=3"],
    )
    return build_model(cfg, state_dim=5, action_dim=4, action_horizon=6, obs_horizon=2, num_cameras=2)


@pytest.mark.parametrize("mode", MODES)
def test_builds_in_the_default_framework_and_fits_a_small_batch(mode, tiny_model_cfg, make_batch):
    """configs/config.yaml's framework and head (groot_style, flow_matching): the state tokens join the
    VLM's, gradients reach every embedding, and the training loss falls on a batch it sees again and again."""
    model = _model(tiny_model_cfg, mode)
    assert isinstance(model.state_encoder, StateTokenEncoder)
    batch = make_batch(batch_size=4, obs_horizon=2)
    tokens = model.tokenize(batch["instruction"])
    feats, mask = model.features(batch["images"], batch["state"], tokens["input_ids"], tokens["attention_mask"])
    vlm_feats, _ = model.vlm(batch["images"], tokens["input_ids"], tokens["attention_mask"])
    assert feats.shape[1] - vlm_feats.shape[1] == (2 if mode == "per_step" else 2 * 5) and mask.all()

    def loss_at(seed: int) -> float:  # the same flow times and noise before and after training
        torch.manual_seed(seed)
        with torch.no_grad():
            return sum(model(batch)["loss"].item() for _ in range(4)) / 4

    model.train()
    before = loss_at(123)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(200):
        opt.zero_grad()
        model(batch)["loss"].backward()
        opt.step()
    # the last step's gradients (at step 0 none reach the context: the head's output layers start at zero)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.state_encoder.parameters())
    after = loss_at(123)
    assert after < 0.35 * before, (before, after)
    model.eval()
    noise = torch.randn(model.noise_shape(4))
    moved = dict(batch, state=batch["state"].clone())
    moved["state"][1, -1] = -moved["state"][1, -1]  # sample 1's current state: its bins change
    a, b = model.predict(batch, noise=noise), model.predict(moved, noise=noise)
    assert not torch.allclose(a[1], b[1]) and torch.equal(a[0], b[0])


@pytest.mark.slow
def test_exports_to_onnx_with_runtime_parity_on_bin_edges(tmp_path, tiny_model_cfg, make_batch):
    """Through the exporter `librobot export` uses (dynamic batch): clamp, scale, floor, cast and gather
    in the graph, and ONNX Runtime picks the same bins as torch for values on an edge, a float32 step
    below it and out of range, where one bin off moves the actions."""
    import onnx
    import onnxruntime as ort

    from librobot.inference.config import ExportConfig
    from librobot.inference.onnx_export import export_graph

    model = _model(tiny_model_cfg, "per_feature").eval()
    with torch.no_grad():  # the head's output layers start at zero, where the actions ignore the features
        for p in model.action_head.parameters():
            if not p.any():
                p.normal_(std=0.1)
    batch = make_batch(batch_size=3, obs_horizon=2)
    state = batch["state"].clone()
    state[0, 1] = torch.tensor([-1.0, -0.9375, 0.0, 1.0, 4.0])  # bins=32 over [-1, 1]: w = 1/16
    state[1, 1] = torch.tensor([-(2**-24), 0.0625, -7.0, 0.999, -1.0])
    below = state.clone()
    below[0, 1, 1] = just_below(-0.9375)  # bin 0 instead of 1
    tokens = model.tokenize(batch["instruction"])
    feeds = {
        "images": batch["images"].numpy(),
        "state": state.numpy(),
        "input_ids": tokens["input_ids"].numpy(),
        "attention_mask": tokens["attention_mask"].numpy(),
        "noise": torch.randn(model.noise_shape(3)).numpy(),
    }
    path = export_graph(model, feeds, tmp_path / "policy.onnx", ExportConfig().opset)
    assert "Floor" in {node.op_type for node in onnx.load(str(path)).graph.node}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    results = []
    for s in (state, below):
        inputs = dict(feeds, state=s.numpy())
        got = session.run(None, inputs)[0]  # batch 3: the graph was traced on 2
        with torch.no_grad():
            want = model.export_forward(*(torch.from_numpy(inputs[k]) for k in feeds)).numpy()
        assert np.abs(got - want).max() < 1e-4
        results.append(want)
    assert np.abs(results[0][0] - results[1][0]).max() > 1e-3  # one bin apart: 10x the tolerance and more
