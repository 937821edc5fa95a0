"""The OpenVLA-style framework: action values <-> the last ids of the VLM's vocabulary within half a bin,
decoding (autoregressive with the KV cache, or parallel) constrained to those ids whatever the logits
favour, chunks independent of their batch neighbours' padding, and a tiny batch learnt until greedy
decoding reproduces its tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from librobot.config import ConfigError, load_config
from librobot.models import build_model

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

DIMS = {"state_dim": 5, "action_dim": 2, "action_horizon": 3, "obs_horizon": 1, "num_cameras": 1}
DECODINGS = ["autoregressive", "parallel"]
WIDTH = 2.0 / 256  # one bin of the normalized range [-1, 1]


@pytest.fixture(name="make_model")
def make_model_fixture(tiny_model_cfg):
    def make(decoding="autoregressive", vlm="paligemma", overrides=(), **dims):
        cfg = tiny_model_cfg(
            vlm,
            "mlp_oft",  # unused: the language-model head predicts the actions
            "openvla_style",
            overrides=["vlm.freeze=false", f"framework.decoding={decoding}", *overrides],
        )
        torch.manual_seed(0)
        return build_model(cfg, **{**DIMS, **dims})

    return make


@pytest.fixture(name="small_batch")
def small_batch_fixture(make_batch):
    return make_batch(batch_size=3, num_cameras=1, action_horizon=3, action_dim=2)


def test_action_values_map_to_the_last_vocabulary_ids_and_back_within_half_a_bin(make_model):
    model = make_model()
    assert model.vocab_size == 1024 and model.first_action_id == 1024 - 256
    actions = torch.linspace(-1, 1, 7 * 6).reshape(7, 3, 2)
    ids = model.encode_actions(actions)
    assert ids.shape == (7, 6) and ids.min() >= 768 and ids.max() == 1023
    chunk = model.decode_codes(ids - model.first_action_id)
    assert (chunk - actions).abs().max() <= WIDTH / 2 + 1e-6
    np.testing.assert_allclose(chunk.numpy(), model.action_tokenizer.decode(ids - 768), atol=1e-6)
    bins = ((actions + 1.0) / WIDTH).floor().clamp(0, 255).long()
    assert torch.equal(ids, bins.reshape(7, 6) + 768)  # time-major: step 0's values, then step 1's, ...


@pytest.mark.parametrize("decoding", DECODINGS)
def test_constrained_decoding_never_emits_a_text_token(decoding, make_model, small_batch):
    """The text rows of the LM head are scaled up until every unconstrained argmax is a text id; decoding
    still gives action ids only, and the chunk is made of bin centres."""
    model = make_model(decoding).eval()
    with torch.no_grad():
        model.vlm.lm_head_weight()[: model.first_action_id] *= 50.0
        prompt, valid = model._batch_features(small_batch)
        codes = model.generate(prompt, valid)
        slots = model._slots(prompt, codes + model.first_action_id)
        free = (model._run(prompt, valid, slots) @ model.vlm.lm_head_weight().T).argmax(-1)
        chunk = model.predict(small_batch)
    assert (free < model.first_action_id).all()  # unconstrained, the LM would write text
    assert codes.shape == (3, 6) and codes.min() >= 0 and codes.max() < model.bins
    half_bins = (chunk + 1.0) / (WIDTH / 2)
    assert torch.allclose(half_bins, half_bins.round(), atol=1e-3) and (half_bins.round() % 2 == 1).all()


@pytest.mark.parametrize("vlm", ["paligemma", "qwen2_vl", "smolvlm"])
@pytest.mark.parametrize("decoding", DECODINGS)
def test_both_decodings_give_valid_chunks_that_ignore_batch_neighbours(decoding, vlm, make_model, small_batch):
    """Instructions of different lengths pad each other in a batch; positions count valid tokens, so each
    sample decodes alone as in the batch. Autoregressive: the cached steps emit exactly the argmax of a
    teacher-forced pass over the tokens they emitted."""
    model = make_model(decoding, vlm).eval()
    chunk = model.predict(small_batch)
    assert chunk.shape == (3, 3, 2) and torch.isfinite(chunk).all() and chunk.abs().max() <= 1.0
    for i in range(3):
        alone = {k: v[i : i + 1] for k, v in small_batch.items()}
        assert torch.equal(model.predict(alone), chunk[i : i + 1])
    if decoding == "autoregressive":
        with torch.no_grad():
            prompt, valid = model._batch_features(small_batch)
            codes = model.generate(prompt, valid)
            hidden = model._run(prompt, valid, model._slots(prompt, codes + model.first_action_id))
            weight_t = model.vlm.lm_head_weight()[model.first_action_id :].t()
        assert torch.equal(model.action_out(hidden, weight_t).argmax(-1), codes)
    tokens = model.tokenize(small_batch["instruction"])
    exported = model.export_forward(
        small_batch["images"], small_batch["state"], tokens["input_ids"], tokens["attention_mask"]
    )
    assert torch.equal(exported, chunk)


@pytest.mark.parametrize("decoding", DECODINGS)
def test_a_tiny_batch_is_learnt_until_greedy_decoding_reproduces_its_tokens(decoding, make_model, small_batch):
    model = make_model(decoding)
    small_batch["action_is_pad"][:] = False
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        out = model(small_batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert np.mean(losses[:5]) / np.mean(losses[-5:]) > 20.0, (losses[:3], losses[-3:])
    assert out["token_accuracy"].item() == 1.0
    model.eval()
    tokenizer = model.action_tokenizer
    expected = tokenizer.decode(tokenizer.encode(small_batch["actions"].numpy()))
    np.testing.assert_allclose(model.predict(small_batch).numpy(), expected, atol=1e-6)


def test_padded_steps_are_left_out_of_the_loss(make_model, small_batch):
    model = make_model().eval()
    changed = dict(small_batch, actions=small_batch["actions"].clone())
    changed["actions"][-1, 2:] = -small_batch["actions"][-1, 2:]  # the last sample's padded step (make_batch)
    assert small_batch["action_is_pad"][-1, 2] and not small_batch["action_is_pad"][-1, 0]
    # the autoregressive slots read the previous targets, so only the last step's own change is invisible
    assert torch.equal(model(small_batch)["loss"], model(changed)["loss"])


def test_param_groups_put_the_slot_embeddings_with_the_action_side(make_model):
    model = make_model("parallel", vlm="smolvlm")  # untied: its own LM head
    groups = model.param_groups()
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in groups["action_head"]) == ["action_queries", "vlm.lm_head.weight"]
    assert groups["vlm"] and groups["encoder"]
    assert sum(len(g) for g in groups.values()) == len(list(model.parameters()))


@pytest.mark.parametrize(
    ("vlm", "overrides", "message"),
    [
        ("small_pretrained", [], "model.vlm=small_pretrained: openvla_style predicts actions with the VLM's"),
        (
            "florence2",
            ["vlm.freeze=false"],
            "model.vlm=florence2: vlm Florence-2: its language model is an encoder-decoder",
        ),
        ("paligemma", ["vlm.freeze=true"], "model.vlm.freeze is true"),
        ("paligemma", ["vlm.freeze=false", "vlm.hidden_layer=1"], "model.vlm.hidden_layer=1"),
        (
            "paligemma",
            ["vlm.freeze=false", "vlm.vocab_size=400"],
            "model.vlm.vocab_size=400 has no room for 256 action ids",
        ),
    ],
)
def test_vlms_it_cannot_drive_are_refused_naming_the_key(vlm, overrides, message, tiny_model_cfg):
    cfg = tiny_model_cfg(vlm, "mlp_oft", "openvla_style", overrides=overrides)
    with pytest.raises(ValueError, match=message):
        build_model(cfg, **DIMS)


def test_config_choices_are_checked_at_load():
    with pytest.raises(
        ConfigError, match="'model.framework.decoding' must be one of autoregressive, parallel; got 'beam'"
    ):
        load_config("experiment/openvla", ["model.framework.decoding=beam"])
    with pytest.raises(ConfigError, match="model.framework.tokenizer.name must be 'bins'"):
        load_config("experiment/openvla", ["model.framework.tokenizer={name: fast}"])
    cfg = load_config("experiment/openvla")
    assert (
        cfg.model.framework["tokenizer"]["bins"] == 256 and cfg.model.vlm["from_config"] and not cfg.model.vlm["freeze"]
    )


def test_untied_lm_head_loads_from_a_checkpoint_and_a_base_checkpoint_is_refused(tmp_path, tiny_model_cfg):
    """SmolVLM's head is untied: it comes from the checkpoint's lm_head.weight, never random."""
    from transformers import AutoTokenizer, Idefics3ForConditionalGeneration

    from librobot.models.vlm.small_pretrained import default_text_model
    from librobot.registry import build

    tokenizer = AutoTokenizer.from_pretrained(str(default_text_model()))
    vlm_cfg = {"name": "smolvlm", "from_config": True, "image_size": 56, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    source = build("vlm", vlm_cfg)
    full = Idefics3ForConditionalGeneration(source.model.config)
    full.model.load_state_dict(source.model.state_dict())
    full.save_pretrained(tmp_path / "full")
    source.model.save_pretrained(tmp_path / "base")
    for name in ("full", "base"):
        tokenizer.save_pretrained(tmp_path / name)
    overrides = ["vlm.from_config=false", "vlm.freeze=false", f"vlm.vocab_size={tokenizer.vocab_size}"]
    cfg = tiny_model_cfg("smolvlm", "mlp_oft", "openvla_style", overrides=overrides)
    cfg.vlm.pretrained_path = str(tmp_path / "full")
    model = build_model(cfg, **DIMS)
    assert torch.equal(model.vlm.lm_head_weight(), full.lm_head.weight)
    cfg.vlm.pretrained_path = str(tmp_path / "base")
    with pytest.raises(FileNotFoundError, match="has no lm_head.weight"):
        build_model(cfg, **DIMS)


def test_the_byte_tokenizer_of_models_built_from_config_saves_for_onnx_serving(make_model, tmp_path):
    from librobot.inference.tokenizer import TextTokenizer, save_tokenizer

    model = make_model()
    texts = ["pick up the red block", "héllo ✓", "", "reach " * 20]
    save_tokenizer(model, tmp_path, instructions=texts)  # checks itself against model.tokenize, token for token
    ids = TextTokenizer.load(tmp_path)(texts)["input_ids"]
    assert ids.shape == (4, 32) and ids[2].tolist() == [1] + [0] * 31


def test_librobot_list_shows_it(capsys):
    from librobot.cli import main

    assert main(["list", "framework"]) == 0
    assert "openvla_style (aliases: openvla)" in capsys.readouterr().out
