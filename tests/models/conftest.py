"""Fixtures for the model tests: tiny sizes, one thread, batches shaped as the dataset contract says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "model"

# tiny widths per component, as dotlist overrides of the YAML in configs/model/<part>/<name>.yaml
TINY = {
    "small_pretrained": ["vlm.hidden_dim=32", "vlm.feature_cache_mb=64"],
    "mlp": ["encoder.hidden_dims=[32]"],
    "history": ["encoder.hidden_dims=[32]", "encoder.num_heads=2"],
    "mlp_oft": [
        "action_head.hidden_dim=32",
        "action_head.num_layers=1",
        "action_head.num_heads=2",
        "action_head.mlp_hidden_dims=[32]",
    ],
    "diffusion_transformer": ["action_head.hidden_dim=32", "action_head.num_layers=1", "action_head.num_heads=2"],
    "flow_matching": ["action_head.hidden_dim=32", "action_head.num_layers=1", "action_head.num_heads=2"],
    "act": [
        "action_head.hidden_dim=32",
        "action_head.num_heads=2",
        "action_head.encoder_layers=1",
        "action_head.decoder_layers=1",
        "action_head.vae_layers=1",
        "action_head.latent_dim=8",
    ],
    "fast": [
        "action_head.hidden_dim=32",
        "action_head.num_heads=2",
        "action_head.num_layers=1",
        "action_head.tokenizer.vocab_size=128",
    ],
    "pi0_style": ["framework.prefix_layers=1", "framework.num_heads=2"],
}
# transformers VLMs: random-initialized from a tiny config (no checkpoints on this machine)
HF_IMAGE_SIZE = {"qwen2_vl": 56, "paligemma": 56, "smolvlm": 56, "florence2": 64}
for _name, _size in HF_IMAGE_SIZE.items():
    TINY[_name] = ["vlm.from_config=true", "vlm.pretrained_path=null", f"vlm.image_size={_size}"]


def tiny_model_cfg(vlm: str, head: str, framework: str, encoder: str = "mlp", overrides: list[str] = ()) -> DictConfig:
    """The model section built from the component YAML files, shrunk to tiny widths."""
    parts = {"vlm": vlm, "encoder": encoder, "action_head": head, "framework": framework}
    cfg = OmegaConf.create({part: OmegaConf.load(CONFIGS / part / f"{name}.yaml") for part, name in parts.items()})
    dotlist = [o for name in parts.values() for o in TINY.get(name, [])] + list(overrides)
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(dotlist))


def make_batch(
    batch_size: int = 3,
    num_cameras: int = 2,
    image_hw: tuple[int, int] = (48, 64),
    obs_horizon: int = 1,
    state_dim: int = 5,
    action_horizon: int = 6,
    action_dim: int = 4,
    seed: int = 0,
) -> dict:
    """A normalized batch as the data loader delivers it: raw uint8 images, normalized state/actions,
    padding flags (the last sample's chunk runs past its episode end), instructions as strings."""
    g = torch.Generator().manual_seed(seed)
    action_is_pad = torch.zeros(batch_size, action_horizon, dtype=torch.bool)
    action_is_pad[-1, action_horizon // 2 :] = True
    state_is_pad = torch.zeros(batch_size, obs_horizon, dtype=torch.bool)
    if obs_horizon > 1:
        state_is_pad[0, 0] = True
    instructions = ["pick up the red block", "open the drawer", "push the button"]
    return {
        "images": torch.randint(0, 256, (batch_size, num_cameras, 3, *image_hw), dtype=torch.uint8, generator=g),
        "state": torch.randn(batch_size, obs_horizon, state_dim, generator=g),
        "state_is_pad": state_is_pad,
        "actions": torch.randn(batch_size, action_horizon, action_dim, generator=g).clamp(-1, 1),
        "action_is_pad": action_is_pad,
        "instruction": [instructions[i % len(instructions)] for i in range(batch_size)],
        "task_index": torch.zeros(batch_size, dtype=torch.long),
        "episode_index": torch.arange(batch_size, dtype=torch.long),
        "frame_index": torch.zeros(batch_size, dtype=torch.long),
        "index": torch.arange(batch_size, dtype=torch.long),
    }


@pytest.fixture
def batch() -> dict:
    return make_batch()


@pytest.fixture(name="make_batch")
def make_batch_fixture():
    return make_batch


@pytest.fixture(name="tiny_model_cfg")
def tiny_model_cfg_fixture():
    return tiny_model_cfg


DATASET = Path(__file__).resolve().parents[2] / "data" / "default"


@pytest.fixture(scope="session")
def recorded_batch():
    """A normalized batch from the recorded default dataset (data/default, versioned by DVC), or the
    synthetic batch when the dataset is not checked out. Returns (batch, model dims, source)."""
    if not (DATASET / "meta" / "info.json").is_file():
        batch = make_batch(action_horizon=8)
        dims = {"state_dim": 5, "action_dim": 4, "action_horizon": 8, "obs_horizon": 1, "num_cameras": 2}
        return batch, dims, "synthetic"
    from librobot.data.dataset import ChunkedDataset, collate

    ds = ChunkedDataset(DATASET, split="train", action_horizon=8, obs_horizon=1)
    normalizer = ds.normalizer({"observation.state": "MEAN_STD", "action": "QUANTILES"})
    first = ds.reader.episode_slice(ds.episodes[0])
    near_end = first.stop - first.start - 3  # samples run episode by episode: this chunk is padded
    batch = normalizer.normalize_batch(collate([ds[i] for i in (0, near_end, 2100)]))
    assert batch["action_is_pad"].any() and len(set(batch["instruction"])) > 1
    dims = {
        "state_dim": batch["state"].shape[-1],
        "action_dim": batch["actions"].shape[-1],
        "action_horizon": 8,
        "obs_horizon": 1,
        "num_cameras": batch["images"].shape[1],
    }
    return batch, dims, "recorded"
