"""The FAST head: constrained greedy decoding gives a valid chunk whatever the weights, its in-graph
detokenization equals the tokenizer's, and it learns a small batch until it reproduces the chunks'
tokens exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from librobot.models.action_tokenizers import build_action_tokenizer
from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

B, N, F, H, D = 4, 5, 16, 8, 3
TOKENIZER = {"name": "fast", "scale": 10.0, "vocab_size": 128}


def smooth_chunks(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, H)[None, :, None]
    return np.clip(0.7 * np.sin(2 * np.pi * rng.uniform(0.2, 1.2, (n, 1, D)) * t + rng.uniform(0, 6, (n, 1, D))), -1, 1)


def make_head(tokenizer=TOKENIZER, fitted_on: np.ndarray | None = None, **extra):
    torch.manual_seed(0)
    cfg = {"name": "fast", "hidden_dim": 32, "num_heads": 2, "num_layers": 1, "dropout": 0.0, "tokenizer": tokenizer}
    head = build("action_head", {**cfg, **extra}, feature_dim=F, action_dim=D, action_horizon=H)
    if fitted_on is not None:
        head.set_action_tokenizer(build_action_tokenizer(tokenizer, H, D).fit(fitted_on))
    return head


def features(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[0, -2:] = False
    return torch.randn(B, N, F, generator=g), mask


def without_eos(tokens: torch.Tensor, eos: int) -> list[list[int]]:
    return [[t for t in row if t != eos] for row in tokens.tolist()]


def check_valid(head, tokens: torch.Tensor) -> None:
    """Every sequence: ids the tokenizer emits, at most H * D codes in all, only EOS once EOS came."""
    runs = head.action_tokenizer.runs()
    for row in tokens.tolist():
        if head.eos in row:
            assert set(row[row.index(head.eos) :]) == {head.eos}
        ids = [t for t in row if t != head.eos]
        assert all(runs[t] for t in ids)
        assert sum(len(runs[t]) for t in ids) <= H * D


@pytest.mark.parametrize("bias", ["none", "longest_token", "eos_first"])
def test_untrained_head_always_decodes_a_valid_chunk(bias):
    """Whatever the logits favour (here pushed hard towards the longest BPE token, or EOS), the masks keep
    the sequence within the chunk's codes, and the chunk is exactly the tokenizer's decoding of it."""
    head = make_head(fitted_on=smooth_chunks(300)).eval()
    runs = head.action_tokenizer.runs()
    with torch.no_grad():
        if bias == "longest_token":
            head.action_out.bias[int(np.argmax([len(r) for r in runs]))] = 1e4
        elif bias == "eos_first":
            head.action_out.bias[head.eos] = 1e4
        feats, mask = features()
        tokens = head.generate(feats, mask)
        chunk = head.predict(feats, mask)
    assert tokens.shape == (B, head.max_tokens) and chunk.shape == (B, H, D) and torch.isfinite(chunk).all()
    check_valid(head, tokens)
    expected = head.action_tokenizer.decode(without_eos(tokens, head.eos))
    np.testing.assert_allclose(chunk.numpy(), expected, atol=1e-5)
    if bias == "eos_first":
        assert (tokens == head.eos).all() and torch.equal(chunk, torch.zeros_like(chunk))  # zero coefficients
    if bias == "longest_token":
        longest = max(len(r) for r in runs)
        # the long token as often as it fits, then shorter ones fill the rest or EOS ends it
        assert all(
            row[: (H * D) // longest] == [int(np.argmax([len(r) for r in runs]))] * ((H * D) // longest)
            for row in tokens.tolist()
        )


def test_in_graph_detokenization_equals_the_tokenizer_on_random_sequences():
    head = make_head(fitted_on=smooth_chunks(300)).eval()
    runs = head.action_tokenizer.runs()
    ids = [i for i, r in enumerate(runs) if r]
    rng = np.random.default_rng(0)
    for _ in range(20):
        seq, used = [], 0
        while True:  # random ids while they fit, then EOS padding to max_tokens
            t = int(rng.choice(ids))
            if used + len(runs[t]) > H * D or len(seq) >= head.max_tokens - 1 or rng.random() < 0.1:
                break
            seq.append(t)
            used += len(runs[t])
        tokens = torch.tensor([seq + [head.eos] * (head.max_tokens - len(seq))])
        np.testing.assert_allclose(head.decode_tokens(tokens).numpy(), head.action_tokenizer.decode([seq]), atol=1e-5)


@pytest.mark.parametrize("tokenizer", [TOKENIZER, {"name": "bins", "bins": 64}])
def test_head_fits_a_small_batch_until_greedy_decoding_reproduces_the_tokens(tokenizer):
    """Teacher-forced training and KV-cached greedy decoding agree: once the tokens are learnt, predict
    gives exactly decode(encode(actions)), the chunk up to the tokenizer's rounding."""
    chunks = smooth_chunks(300)
    head = make_head(tokenizer, fitted_on=chunks if tokenizer["name"] == "fast" else None)
    feats, mask = features()
    actions = torch.tensor(chunks[:B], dtype=torch.float32)
    opt = torch.optim.AdamW(head.parameters(), lr=3e-3)
    losses = []
    for _ in range(250):
        out = head(feats, mask, actions)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert np.mean(losses[:10]) / np.mean(losses[-10:]) > 10.0, (losses[:3], losses[-3:])
    assert out["token_accuracy"].item() == 1.0
    head.eval()
    with torch.no_grad():
        chunk = head.predict(feats, mask).numpy()
    tok = head.action_tokenizer
    np.testing.assert_allclose(chunk, tok.decode(tok.encode(actions.numpy())), atol=1e-5)


def test_teacher_forcing_shifts_by_one_and_ends_with_eos_within_max_tokens():
    head = make_head(max_tokens=4)
    inputs, targets = head.teacher_forcing([[5, 6], [7, 8, 9, 10, 11]], "cpu")
    eos, bos = head.eos, head.bos
    assert inputs.tolist() == [[bos, 5, 6, eos], [bos, 7, 8, 9]]
    assert targets.tolist() == [[5, 6, eos, -100], [7, 8, 9, 10]]  # the long one is cut, without EOS


def test_a_tokenizer_that_does_not_match_the_head_is_refused():
    head = make_head()
    other_scale = build_action_tokenizer({**TOKENIZER, "scale": 5.0}, H, D)
    with pytest.raises(ValueError, match="does not match action_head.tokenizer"):
        head.set_action_tokenizer(other_scale)
    other_shape = build_action_tokenizer(TOKENIZER, H + 1, D)
    with pytest.raises(ValueError, match=r"for chunks \[9, 3\]; this head predicts \[8, 3\]"):
        head.set_action_tokenizer(other_shape)
    with pytest.raises(ValueError, match="model.action_head.tokenizer.scalr"):
        make_head({**TOKENIZER, "scalr": 3})
