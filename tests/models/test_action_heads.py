"""Action heads: fit a small batch, deterministic sampling given noise, padding out of the loss,
the feature context computed once per prediction."""

from __future__ import annotations

import pytest
import torch

from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

HEADS = ["mlp_oft", "diffusion_transformer", "flow_matching", "act"]
B, N, F, H, D = 4, 6, 16, 6, 4
ACT_LAYERS = {"encoder_layers": 1, "decoder_layers": 1, "vae_layers": 1, "dropout": 0.0}


def make_head(name: str, **extra):
    torch.manual_seed(0)
    layers = ACT_LAYERS if name == "act" else {"num_layers": 1}
    cfg = {"name": name, "hidden_dim": 32, "num_heads": 2, **layers, **extra}
    return build("action_head", cfg, feature_dim=F, action_dim=D, action_horizon=H)


def small_problem():
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(B, N, F, generator=g)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[0, -2:] = False
    actions = torch.randn(B, H, D, generator=g).clamp(-1, 1)
    return feats, mask, actions, torch.zeros(B, H, dtype=torch.bool)


def chunk_error(head, feats, mask, actions, noise) -> float:
    with torch.no_grad():
        return ((head.predict(feats, mask, noise) - actions) ** 2).mean().item()


# (steps, required fall of the training loss, required fall of the predicted chunk's error)
FIT = {
    "mlp_oft": (300, 10.0, 10.0),
    "flow_matching": (600, 10.0, 10.0),
    "diffusion_transformer": (1000, 10.0, 3.0),
    "act": (300, 10.0, 10.0),
}


@pytest.mark.parametrize("name", HEADS)
def test_head_fits_a_small_batch(name):
    """Every head's loss falls by an order of magnitude. Epsilon prediction is the slowest: at the
    least noisy timesteps eps is x_t minus a tiny multiple of x0, so it needs x0 memorised precisely
    and its per-step loss stays noisy; it gets more steps, and a cosine decay that settles it."""
    steps, loss_fall, error_fall = FIT[name]
    head = make_head(name)
    feats, mask, actions, pad = small_problem()
    noise = torch.randn(head.noise_shape(B)) if head.samples else None
    error_before = chunk_error(head, feats, mask, actions, noise)
    opt = torch.optim.AdamW(head.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    for _ in range(steps):
        loss = head(feats, mask, actions, pad)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert first / last >= loss_fall, f"{name}: loss {first:.4f} -> {last:.4f}"
    error_after = chunk_error(head, feats, mask, actions, noise)
    assert error_before / error_after >= error_fall, f"{name}: chunk error {error_before:.4f} -> {error_after:.4f}"


@pytest.mark.parametrize("name", HEADS)
def test_predict_is_deterministic_given_noise(name):
    head = make_head(name).eval()
    feats, mask, _, _ = small_problem()
    shape = head.noise_shape(B)
    noise = torch.randn(shape) if shape else None
    a = head.predict(feats, mask, noise)
    b = head.predict(feats, mask, noise.clone() if noise is not None else None)
    assert a.shape == (B, H, D)
    assert torch.equal(a, b)  # same head, inputs and shapes in one process: same kernels, same bits
    if shape:  # another noise draw gives another sample
        assert not torch.allclose(a, head.predict(feats, mask, torch.randn(shape)))


@pytest.mark.parametrize("name", HEADS)
def test_padded_actions_are_excluded_from_the_loss(name):
    """The loss has zero gradient with respect to the head's outputs at padded steps, and only there."""
    head = make_head(name)
    feats, mask, actions, pad = small_problem()
    pad[1, 3:] = True
    outputs = []
    last = {"mlp_oft": "mlp", "act": "to_action"}.get(name, "denoiser")
    last = getattr(head, last)

    def keep(_module, _inputs, out):
        out.retain_grad()
        outputs.append(out)

    last.register_forward_hook(keep)
    head(feats, mask, actions, pad)["loss"].backward()
    grad = outputs[0].grad
    assert torch.all(grad[1, 3:] == 0)
    assert torch.all(grad[1, :3].abs().sum(-1) > 0) and torch.all(grad[0].abs().sum(-1) > 0)


@pytest.mark.parametrize("name", ["diffusion_transformer", "flow_matching"])
def test_sampling_projects_the_features_once_per_prediction(name):
    """The prefix KV cache: feature keys/values are computed once and reused by every denoising step."""
    head = make_head(name, num_inference_steps=5).eval()
    feats, mask, _, _ = small_problem()
    calls = {"kv": 0, "denoiser": 0}
    kv = head.denoiser.blocks[0].cross_attn.kv
    kv.register_forward_hook(lambda *_: calls.__setitem__("kv", calls["kv"] + 1))
    head.denoiser.register_forward_hook(lambda *_: calls.__setitem__("denoiser", calls["denoiser"] + 1))
    head.predict(feats, mask, torch.randn(head.noise_shape(B)))
    assert calls == {"kv": 1, "denoiser": 5}


def test_feature_mask_hides_padded_feature_tokens():
    head = make_head("flow_matching").eval()
    feats, mask, _, _ = small_problem()
    noise = torch.randn(head.noise_shape(B))
    a = head.predict(feats, mask, noise)
    feats2 = feats.clone()
    feats2[0, -2:] = 50.0  # masked tokens of sample 0
    assert torch.allclose(a, head.predict(feats2, mask, noise), atol=1e-6)


def test_wrong_noise_or_action_shapes_fail_with_the_expected_shape():
    head = make_head("flow_matching")
    feats, mask, actions, pad = small_problem()
    with pytest.raises(ValueError, match=r"expected \(4, 6, 4\)"):
        head.predict(feats, mask, torch.randn(B, H + 1, D))
    with pytest.raises(ValueError, match=r"\[B, 6, 4\]"):
        head(feats, mask, actions[:, :3], pad)


def test_mlp_oft_has_no_noise_and_uses_l1():
    head = make_head("mlp")  # alias
    feats, mask, actions, pad = small_problem()
    assert type(head).__name__ == "MLPOFTHead" and head.noise_shape(B) is None
    out = head(feats, mask, actions, pad)
    pred = head.predict(feats, mask)
    assert torch.allclose(out["loss"], (pred - actions).abs().mean(), atol=1e-6)


def test_diffusion_sampler_uses_the_configured_number_of_ddim_steps():
    head = make_head("diffusion", num_train_timesteps=50, num_inference_steps=5)
    assert head.inference_timesteps == [49, 39, 29, 19, 9]
    with pytest.raises(ValueError, match="num_inference_steps"):
        make_head("diffusion", num_train_timesteps=10, num_inference_steps=20)


def test_act_is_a_cvae_in_training_and_deterministic_at_inference():
    """Training samples z from the posterior (the loss carries a KL term); inference uses z = 0."""
    head = make_head("act", kl_weight=10.0)
    feats, mask, actions, pad = small_problem()
    out = head(feats, mask, actions, pad)
    assert out["kl"] > 0 and torch.allclose(out["loss"], out["l1"] + 10.0 * out["kl"])
    head.eval()
    zero = head.decode(head.context(feats, mask, torch.zeros(B, head.cfg.latent_dim)))
    assert torch.equal(head.predict(feats, mask), zero)  # same graph, same shapes: same bits
    other = head.decode(head.context(feats, mask, torch.ones(B, head.cfg.latent_dim)))
    assert not torch.allclose(zero, other)  # the latent steers the chunk
    with pytest.raises(ValueError, match="kl_weight must be >= 0"):
        make_head("act", kl_weight=-1.0)
