"""Action tokenizers: uniform binning within half a bin, FAST exact up to the rounding of its DCT
coefficients and shorter than the chunk, both through their JSON file unchanged, bad input named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from librobot.models.action_tokenizers import (
    ACTION_TOKENIZER_FILE,
    build_action_tokenizer,
    load_action_tokenizer,
    save_action_tokenizer,
)
from librobot.models.action_tokenizers.fast import dct_matrix
from librobot.registry import REGISTRY

H, D = 16, 4


def smooth_chunks(n: int = 400, seed: int = 0) -> np.ndarray:
    """Chunks as a normalized robot trajectory looks: slow sinusoids plus ramps, within [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, H)[None, :, None]
    freq = rng.uniform(0.2, 1.5, (n, 1, D))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, D))
    ramp = rng.uniform(-0.3, 0.3, (n, 1, D))
    return np.clip(0.6 * np.sin(2 * np.pi * freq * t + phase) + ramp * t, -1, 1)


def fast(**cfg):
    return build_action_tokenizer({"name": "fast", "vocab_size": 256, **cfg}, H, D)


def test_both_tokenizers_are_registered():
    assert {"bins", "fast"} <= set(REGISTRY.names("action_tokenizer"))
    assert REGISTRY.canonical_name("action_tokenizer", "uniform_bins") == "bins"


def test_dct_matrix_is_the_orthonormal_dct_ii():
    c = dct_matrix(H)
    np.testing.assert_allclose(c @ c.T, np.eye(H), atol=1e-12)
    x = np.random.default_rng(0).normal(size=(H, D))
    scipy_fft = pytest.importorskip("scipy.fft")
    np.testing.assert_allclose(c @ x, scipy_fft.dct(x, type=2, axis=0, norm="ortho"), atol=1e-12)


def test_uniform_bins_decode_within_half_a_bin():
    tok = build_action_tokenizer({"name": "bins"}, H, D)
    x = np.random.default_rng(1).uniform(-1, 1, (50, H, D))
    x[0, 0, :] = [-1.0, 1.0, 0.0, 1e-9]  # the range's ends and the middle
    tokens = tok.encode(x)
    assert all(len(t) == H * D for t in tokens) and all(0 <= i < 256 for t in tokens for i in t)
    half_bin = 1.0 / 256
    assert np.abs(tok.decode(tokens) - x).max() <= half_bin + 1e-12
    # time-major: step 0's dimensions first
    assert tokens[0][:4] == [0, 255, 128, 128]
    # values outside the range fall into the end bins
    assert tok.encode(np.full((H, D), 7.0))[0] == [255] * (H * D)


def test_fast_fitted_on_smooth_chunks_compresses_and_decodes_exactly_up_to_rounding():
    chunks = smooth_chunks()
    tok = fast(scale=10.0).fit(chunks)
    tokens = tok.encode(chunks)
    lengths = np.array([len(t) for t in tokens])
    # FAST's point: far fewer tokens than the H * D values binning needs
    assert lengths.max() < H * D and lengths.mean() < 0.35 * H * D, lengths.mean()
    assert tok.fit_stats["mean_tokens"] == pytest.approx(lengths.mean(), abs=1e-3)
    decoded = tok.decode(tokens)
    # exactly the inverse DCT of the rounded coefficients
    c = dct_matrix(H)
    rounded = np.rint(np.einsum("kt,ntd->nkd", c, chunks) * 10.0) / 10.0
    np.testing.assert_allclose(decoded, np.einsum("kt,nkd->ntd", c, rounded), atol=1e-12)
    # so each dimension errs by at most 0.5 / scale per coefficient: 0.5 * sqrt(H) / scale in L2
    assert np.linalg.norm(decoded - chunks, axis=1).max() <= 0.5 * np.sqrt(H) / 10.0
    # a coarser scale costs fewer tokens and more error
    coarse = fast(scale=2.0).fit(chunks)
    coarse_tokens = coarse.encode(chunks)
    assert np.mean([len(t) for t in coarse_tokens]) < lengths.mean()
    assert np.abs(coarse.decode(coarse_tokens) - chunks).mean() > np.abs(decoded - chunks).mean()


def test_fast_encodes_any_chunk_by_clipping_to_the_fitted_range():
    tok = fast().fit(smooth_chunks(100))
    wild = np.random.default_rng(2).normal(0, 50, (3, H, D))
    codes = tok.chunks_to_codes(wild)
    assert codes.min() >= tok.min_code and codes.max() <= tok.max_code
    out = tok.decode(tok.encode(wild))
    assert out.shape == (3, H, D) and np.isfinite(out).all()


def test_unfitted_fast_is_one_token_per_coefficient_over_the_range_of_normalized_chunks():
    tok = fast()
    assert not tok.fitted and tok.max_code == -tok.min_code == int(np.ceil(10 * np.sqrt(H)))
    chunks = smooth_chunks(20)
    tokens = tok.encode(chunks)
    assert all(len(t) == H * D for t in tokens)  # no merges yet
    rounded = np.rint(np.einsum("kt,ntd->nkd", dct_matrix(H), chunks) * 10.0) / 10.0
    np.testing.assert_allclose(tok.decode(tokens), np.einsum("kt,nkd->ntd", dct_matrix(H), rounded), atol=1e-12)


def test_decode_pads_short_sequences_with_zero_coefficients_and_cuts_long_ones():
    tok = fast().fit(smooth_chunks(100))
    tokens = tok.encode(smooth_chunks(1, seed=5))[0]
    full = tok.decode([tokens])
    assert np.allclose(tok.decode([[]]), 0.0)  # nothing: every coefficient 0
    first = tok.decode([tokens[:1]])
    run = tok.runs()[tokens[0]]
    codes = np.zeros(H * D)
    codes[: len(run)] = run
    np.testing.assert_allclose(first, tok.codes_to_chunks(codes[None]), atol=1e-12)
    np.testing.assert_allclose(tok.decode([tokens + tokens]), full, atol=1e-12)  # the surplus is cut


@pytest.mark.parametrize("name", ["bins", "fast"])
def test_tokenizer_json_round_trip_keeps_encode_and_decode(name, tmp_path):
    chunks = smooth_chunks(200)
    tok = build_action_tokenizer({"name": name, **({"vocab_size": 256} if name == "fast" else {})}, H, D).fit(chunks)
    path = save_action_tokenizer(tok, tmp_path)
    assert path.name == ACTION_TOKENIZER_FILE
    loaded = load_action_tokenizer(tmp_path)
    assert type(loaded) is type(tok) and loaded.fitted and loaded.fit_stats == tok.fit_stats
    assert loaded.to_dict() == tok.to_dict()
    assert loaded.encode(chunks) == tok.encode(chunks)
    tokens = tok.encode(chunks[:5])
    np.testing.assert_array_equal(loaded.decode(tokens), tok.decode(tokens))
    assert load_action_tokenizer(tmp_path / "elsewhere") is None  # no file: bundles of other heads


def test_vocabulary_too_small_for_the_coefficients_names_the_fields():
    chunks = smooth_chunks(50)
    with pytest.raises(ValueError, match="vocab_size=32 cannot hold the .* raise vocab_size or lower scale"):
        build_action_tokenizer({"name": "fast", "vocab_size": 32, "scale": 1.0}, H, D).fit(chunks * 20)
    with pytest.raises(ValueError, match="vocab_size=16 cannot hold"):  # even the unfitted range
        build_action_tokenizer({"name": "fast", "vocab_size": 16}, H, D)


def test_bad_chunks_and_token_ids_are_refused_with_the_expected_shape():
    tok = fast()
    with pytest.raises(ValueError, match=r"shape \(3, 8, 4\); the fast tokenizer expects \[N, 16, 4\]"):
        tok.encode(np.zeros((3, 8, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        tok.encode(np.full((H, D), np.nan))
    with pytest.raises(ValueError, match="token id 999 is not in the fast tokenizer's vocabulary"):
        tok.decode([[999]])
    with pytest.raises(ValueError, match="action_tokenizer.bins"):
        build_action_tokenizer({"name": "bins", "bins": "many"}, H, D)


def test_a_tampered_tokenizer_file_is_refused(tmp_path):
    tok = fast().fit(smooth_chunks(100))
    save_action_tokenizer(tok, tmp_path)
    path = tmp_path / ACTION_TOKENIZER_FILE
    data = json.loads(path.read_text())
    data["state"]["bpe"]["model"]["vocab"]["abc"] = 3
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not made of coefficient characters"):
        load_action_tokenizer(tmp_path)
    path.write_text(json.dumps({**data, "format": "pickle"}))
    with pytest.raises(ValueError, match="format"):
        load_action_tokenizer(tmp_path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_action_tokenizer(tmp_path)
