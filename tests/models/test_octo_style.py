"""octo_style: Octo's block-causal attention over task, observation and readout tokens, asserted on the
built mask and on what the transformer computes; the VLM reports its image / instruction split."""

from __future__ import annotations

import pytest
import torch

from librobot.models import build_model
from librobot.models.frameworks.octo_style import OctoStyle, TokenRole, block_causal_mask

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

TASK, OBS, READ = int(TokenRole.TASK), int(TokenRole.OBSERVATION), int(TokenRole.READOUT)
READOUTS = 2


def octo(
    tiny_model_cfg, obs_horizon=1, encoder="mlp", text_tokens="sequence", vlm="small_pretrained", head="flow_matching"
):
    overrides = [f"framework.num_readouts={READOUTS}", "framework.num_heads=2"]
    if vlm == "small_pretrained":
        overrides.append(f"vlm.text_tokens={text_tokens}")
    cfg = tiny_model_cfg(vlm, head, "octo_style", encoder=encoder, overrides=overrides)
    torch.manual_seed(0)
    dims = {"state_dim": 5, "action_dim": 4, "action_horizon": 6, "obs_horizon": obs_horizon, "num_cameras": 2}
    return build_model(cfg, **dims).eval()


def sequence(model, batch):
    tokens = model.tokenize(batch["instruction"])
    return model.sequence(
        batch["images"], batch["state"], tokens["input_ids"], tokens["attention_mask"], batch["state_is_pad"]
    )


def run(model, seq, tokens=None):
    mask = block_causal_mask(seq.roles, seq.steps, seq.valid)
    with torch.no_grad():
        return model.transformer(seq.tokens if tokens is None else tokens, mask)


def same(a, b):
    return torch.allclose(a, b, rtol=0, atol=1e-6)


def nudge(tokens, index):
    """The tokens with the ones at ``index`` (position or positions) moved by random offsets (a constant
    offset would vanish in the pre-norm layer norms)."""
    out = tokens.clone()
    g = torch.Generator().manual_seed(0)
    out[:, index] += torch.randn(out[:, index].shape, generator=g)
    return out


def test_block_causal_mask_follows_octo_rules():
    # [task, task, obs@0, obs@1, obs@1, readout@1, readout@1]; sample 1 pads its second task token
    roles = torch.tensor([TASK, TASK, OBS, OBS, OBS, READ, READ])
    steps = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    valid = torch.ones(2, 7, dtype=torch.bool)
    valid[1, 1] = False
    expected = torch.tensor(
        [
            [1, 1, 0, 0, 0, 0, 0],  # task: task only
            [1, 1, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0],  # obs@0: task + obs of step 0, not the later step
            [1, 1, 1, 1, 1, 0, 0],  # obs@1: task + obs of steps 0 and 1, never a readout
            [1, 1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1, 1],  # readouts: task, every observation up to their step, each other
            [1, 1, 1, 1, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    mask = block_causal_mask(roles, steps, valid)
    assert mask.shape == (2, 7, 7) and mask.dtype == torch.bool
    assert torch.equal(mask[0], expected)
    padded = expected.clone()
    padded[:, 1] = False  # a padding key is attended by nobody
    assert torch.equal(mask[1], padded)


def test_the_sequence_is_task_then_observations_then_readouts(tiny_model_cfg, make_batch):
    model = octo(tiny_model_cfg, obs_horizon=2, encoder="history")
    batch = make_batch(obs_horizon=2)  # sample 0's first state step is padding
    seq = sequence(model, batch)
    text_len = model.tokenize(batch["instruction"])["input_ids"].shape[1]
    n_image = 2 * 9  # 2 cameras x a 3x3 grid
    assert model.num_image_tokens == n_image
    roles = [TASK] * text_len + [OBS] * (n_image + 2) + [READ] * READOUTS
    assert seq.roles.tolist() == roles
    assert seq.steps[text_len:].tolist() == [1] * n_image + [0, 1] + [1] * READOUTS  # images and readouts: last step
    assert seq.tokens.shape == (3, len(roles), model.feature_dim)
    attention = model.tokenize(batch["instruction"])["attention_mask"].bool()
    assert torch.equal(seq.valid[:, :text_len], attention)  # instruction padding masked
    assert seq.valid[:, text_len + n_image].tolist() == [False, True, True]  # the padded state step
    mask = block_causal_mask(seq.roles, seq.steps, seq.valid)
    readout = seq.roles == READ
    assert not mask[:, ~readout][:, :, readout].any()  # nothing but a readout attends to the readouts
    assert not mask[:, seq.roles == TASK][:, :, seq.roles != TASK].any()  # task tokens see only task tokens


def test_readouts_read_the_sequence_without_changing_it(tiny_model_cfg, batch):
    model = octo(tiny_model_cfg)
    seq = sequence(model, batch)
    base = run(model, seq)
    out = run(model, seq, nudge(seq.tokens, slice(-READOUTS, None)))
    assert same(out[:, :-READOUTS], base[:, :-READOUTS])  # task and observation outputs untouched
    assert not same(out[:, -READOUTS:], base[:, -READOUTS:])


def test_an_observation_reaches_the_readouts_but_never_the_task_tokens(tiny_model_cfg, batch):
    model = octo(tiny_model_cfg)
    seq = sequence(model, batch)
    task = seq.roles == TASK
    base = run(model, seq)
    out = run(model, seq, nudge(seq.tokens, int(task.sum())))  # the first image token
    assert same(out[:, task], base[:, task])
    assert not same(out[:, -READOUTS:], base[:, -READOUTS:])
    # the task tokens reach everything
    out = run(model, seq, nudge(seq.tokens, 0))
    assert not same(out[:, ~task], base[:, ~task]) and not same(out[:, -READOUTS:], base[:, -READOUTS:])


def test_a_later_observation_step_does_not_reach_an_earlier_one(tiny_model_cfg, make_batch):
    model = octo(tiny_model_cfg, obs_horizon=2, encoder="history")
    seq = sequence(model, make_batch(obs_horizon=2))
    obs = (seq.roles == OBS).nonzero().flatten()
    step0, step1 = obs[seq.steps[obs] == 0], obs[seq.steps[obs] == 1]
    base = run(model, seq)
    out = run(model, seq, nudge(seq.tokens, int(step1[-1])))  # the state token of the last step
    assert same(out[1:, step0], base[1:, step0])  # samples 1, 2: step 0 is real
    assert not same(out[:, step1], base[:, step1]) and not same(out[:, -READOUTS:], base[:, -READOUTS:])


def test_the_head_reads_the_readouts_and_predictions_follow_the_images(tiny_model_cfg, batch):
    # the diffusion head: flow matching's adaLN-Zero blocks ignore the features until trained
    model = octo(tiny_model_cfg, text_tokens="pooled", head="diffusion_transformer")
    tokens = model.tokenize(batch["instruction"])
    args = (batch["images"], batch["state"], tokens["input_ids"], tokens["attention_mask"])
    feats, mask = model.features(*args)
    assert feats.shape == (3, READOUTS, model.feature_dim) and mask.all()
    noise = torch.randn(model.noise_shape(3))
    a = model.predict(batch, noise=noise)
    other = dict(batch, images=batch["images"].flip(-1))
    assert not torch.allclose(a, model.predict(other, noise=noise))


def test_small_pretrained_reports_image_tokens_first_then_the_instructions_own(tiny_model_cfg, batch):
    vlm = octo(tiny_model_cfg).vlm
    n = vlm.image_token_count()
    tokens = vlm.tokenize(batch["instruction"])
    feats, _ = vlm(batch["images"], tokens["input_ids"], tokens["attention_mask"])
    assert n == 18 and feats.shape[1] == n + tokens["input_ids"].shape[1]
    # the image tokens come from the images alone, the rest from the instruction alone
    other = vlm.tokenize(["stack the blue cup"] * 3)
    feats_other, _ = vlm(batch["images"], other["input_ids"], other["attention_mask"])
    assert torch.equal(feats[:, :n], feats_other[:, :n])
    flipped, _ = vlm(batch["images"].flip(-1), tokens["input_ids"], tokens["attention_mask"])
    assert torch.equal(feats[:, n:], flipped[:, n:]) and not torch.allclose(feats[:, :n], flipped[:, :n])


def test_a_vlm_that_mixes_image_and_instruction_tokens_is_refused(tiny_model_cfg):
    with pytest.raises(ValueError, match=r"model/vlm=qwen2_vl .*image_token_count"):
        octo(tiny_model_cfg, vlm="qwen2_vl")


def test_bad_sizes_fail_naming_the_key(tiny_model_cfg):
    with pytest.raises(ValueError, match=r"framework\.num_heads=3 must divide .* 32"):
        build_model(
            tiny_model_cfg("small_pretrained", "flow_matching", "octo_style", overrides=["framework.num_heads=3"]),
            state_dim=5,
            action_dim=4,
            action_horizon=6,
        )
    assert isinstance(octo(tiny_model_cfg), OctoStyle)
