"""Frameworks: every registered VLM x head x framework builds from its YAML in configs/model/ and
trains and predicts on a batch shaped as the dataset contract says; the Models contract holds."""

from __future__ import annotations

import pytest
import torch

from librobot.config import ConfigError, load_config
from librobot.models import build_model
from librobot.registry import REGISTRY

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

VLMS = REGISTRY.names("vlm")
HEADS = REGISTRY.names("action_head")
FRAMEWORKS = REGISTRY.names("framework")
# frameworks that read model.action_head; openvla_style predicts with the VLM's own LM head, needs a trained
# transformers VLM and has its own tests (tests/models/test_openvla_style.py)
HEAD_FRAMEWORKS = [f for f in FRAMEWORKS if f != "openvla_style"]
HF_VLMS = {"qwen2_vl", "paligemma", "smolvlm", "florence2"}  # transformers wrappers (vlm/hf_base.py)
DIMS = {"state_dim": 5, "action_dim": 4, "action_horizon": 6, "obs_horizon": 1, "num_cameras": 2}


def build(model_cfg, **dims):
    torch.manual_seed(0)
    return build_model(model_cfg, **{**DIMS, **dims})


def test_the_registry_holds_every_component_the_issue_names():
    assert {"small_pretrained", "qwen2_vl", "paligemma", "smolvlm", "florence2"} <= set(VLMS)
    assert {"mlp_oft", "diffusion_transformer", "flow_matching", "act"} <= set(HEADS)
    assert {"groot_style", "pi0_style", "octo_style"} <= set(FRAMEWORKS)
    assert {"mlp", "history"} <= set(REGISTRY.names("encoder"))
    assert REGISTRY.canonical_name("action_head", "flow") == "flow_matching"
    assert REGISTRY.canonical_name("action_head", "diffusion") == "diffusion_transformer"
    assert REGISTRY.canonical_name("action_head", "mlp") == "mlp_oft"


@pytest.mark.parametrize("framework", HEAD_FRAMEWORKS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("vlm", VLMS)
def test_every_combination_builds_from_yaml_trains_and_predicts(vlm, head, framework, tiny_model_cfg, recorded_batch):
    """On a real recorded batch (data/default) when the dataset is checked out."""
    batch, dims, _source = recorded_batch
    b = len(batch["instruction"])
    if framework == "octo_style" and vlm in HF_VLMS:  # their language model mixes image and instruction tokens
        with pytest.raises(ValueError, match=f"model/vlm={vlm}"):
            build(tiny_model_cfg(vlm, head, framework), **dims)
        return
    model = build(tiny_model_cfg(vlm, head, framework), **dims)
    model.train()
    out = model(batch)
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert all(p.grad is not None for p in model.action_head.parameters() if p.requires_grad)
    assert all(p.grad is not None for p in model.state_encoder.parameters() if p.requires_grad)
    model.eval()
    shape = model.noise_shape(b)
    noise = torch.randn(shape) if shape else None
    actions = model.predict(batch, noise=noise)
    assert actions.shape == (b, dims["action_horizon"], dims["action_dim"]) and torch.isfinite(actions).all()
    # exact: the second call reads the frozen features the first one cached, and runs the same head on the
    # same shapes in this process, so the same kernels
    assert torch.equal(actions, model.predict(batch, noise=noise))


@pytest.mark.parametrize("framework", HEAD_FRAMEWORKS)
def test_export_forward_matches_predict(framework, tiny_model_cfg, batch):
    model = build(tiny_model_cfg("small_pretrained", "flow_matching", framework)).eval()
    noise = torch.randn(model.noise_shape(3))
    tokens = model.tokenize(batch["instruction"])
    with torch.no_grad():
        exported = model.export_forward(
            batch["images"], batch["state"], tokens["input_ids"], tokens["attention_mask"], noise
        )
    assert torch.allclose(exported, model.predict(batch, noise=noise), atol=1e-5)


def test_tokenized_batches_give_the_same_actions_as_instructions(tiny_model_cfg, batch):
    model = build(tiny_model_cfg("small_pretrained", "mlp_oft", "groot_style")).eval()
    with_ids = dict(batch, **model.tokenize(batch["instruction"]))
    del with_ids["instruction"]
    assert torch.allclose(model.predict(batch), model.predict(with_ids), atol=1e-6)


def test_param_groups_split_the_trainable_parameters_by_component(tiny_model_cfg):
    model = build(tiny_model_cfg("small_pretrained", "flow_matching", "pi0_style"))
    groups = model.param_groups()
    assert set(groups) == {"vlm", "encoder", "action_head"}
    ids = [id(p) for g in groups.values() for p in g]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(ids) == len(set(ids)) == len(trainable)
    assert all(len(g) > 0 for g in groups.values())
    # the pretrained backbones are frozen by default: only the VLM's projections train
    vlm_trainable = sum(p.numel() for p in groups["vlm"])
    assert vlm_trainable < 0.05 * sum(p.numel() for p in model.vlm.parameters())


def test_pi0_encodes_the_prefix_once_per_prediction(tiny_model_cfg, batch):
    model = build(
        tiny_model_cfg(
            "small_pretrained", "flow_matching", "pi0_style", overrides=["action_head.num_inference_steps=4"]
        )
    )
    model.eval()
    calls = {"prefix": 0, "kv": 0, "denoiser": 0}

    def count(key):
        return lambda *_: calls.__setitem__(key, calls[key] + 1)

    model.prefix.register_forward_hook(count("prefix"))
    model.action_head.denoiser.blocks[0].cross_attn.kv.register_forward_hook(count("kv"))
    model.action_head.denoiser.register_forward_hook(count("denoiser"))
    model.predict(batch, noise=torch.randn(model.noise_shape(3)))
    assert calls == {"prefix": 1, "kv": 1, "denoiser": 4}


@pytest.mark.parametrize("framework", HEAD_FRAMEWORKS)
def test_history_encoder_reads_an_observation_window(framework, tiny_model_cfg, make_batch):
    model = build(tiny_model_cfg("small_pretrained", "mlp_oft", framework, encoder="history"), obs_horizon=3).eval()
    batch = make_batch(obs_horizon=3)
    a = model.predict(batch)
    changed = dict(batch, state=batch["state"].clone())
    changed["state"][1, 0] += 1.0  # an older, real step of sample 1
    b = model.predict(changed)
    assert not torch.allclose(a[1], b[1]) and torch.allclose(a[0], b[0])
    with pytest.raises(ValueError, match=r"\[B, 3, 5\]"):
        model.predict(make_batch(obs_horizon=1))


def test_groot_fusion_add_keeps_the_vlm_sequence_length(tiny_model_cfg, batch):
    concat = build(tiny_model_cfg("small_pretrained", "mlp_oft", "groot_style"))
    add = build(tiny_model_cfg("small_pretrained", "mlp_oft", "groot_style", overrides=["framework.fusion=add"]))
    tokens = concat.tokenize(batch["instruction"])
    args = (batch["images"], batch["state"], tokens["input_ids"], tokens["attention_mask"])
    f_concat, _ = concat.features(*args)
    f_add, _ = add.features(*args)
    assert f_concat.shape[1] == f_add.shape[1] + 1


def test_unknown_component_names_fail_listing_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_config("experiment/default", ["model.action_head.name=difusion"])
    for known in ("diffusion_transformer", "flow_matching", "mlp_oft"):
        assert known in str(err.value)
    with pytest.raises(ConfigError, match="small_pretrained"):
        load_config("experiment/default", ["model.vlm.name=qwen3"])


def test_a_mistyped_component_field_fails_with_its_path():
    with pytest.raises(ConfigError, match=r"model\.action_head"):
        load_config("experiment/default", ["+model.action_head.num_inferense_steps=3"])


def test_build_model_refuses_bad_dimensions():
    cfg = load_config("experiment/default")
    with pytest.raises(ValueError, match="action_dim must be >= 1"):
        build_model(cfg.model, state_dim=3, action_dim=0, action_horizon=4)


def test_wrong_image_layout_fails_naming_the_expected_shape(tiny_model_cfg, batch):
    model = build(tiny_model_cfg("small_pretrained", "mlp_oft", "groot_style"))
    bad = dict(batch, images=batch["images"].permute(0, 1, 3, 4, 2))
    with pytest.raises(ValueError, match=r"uint8 \[B, 2, 3, H, W\]"):
        model(bad)
