"""LibroBot's Python API in a page: registry, build from config, forward, predict, denormalize.

Run from a checkout (uses the recorded default dataset, data/default, when present; a synthetic
batch otherwise):

    OMP_NUM_THREADS=1 .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from librobot.config import load_config
from librobot.models import build_model
from librobot.registry import REGISTRY

torch.set_num_threads(1)
torch.manual_seed(0)

# 1. The registry: every component is built by name; aliases work too.
for category in ("vlm", "encoder", "action_head", "framework"):
    print(f"{category:12s}", ", ".join(REGISTRY.describe(category)))

# 2. Compose a config (configs/experiment/default.yaml + overrides, Hydra grammar) and build the model.
#    Swap a part with "model/action_head=flow_matching"; a typo in a field fails with its path.
cfg = load_config("experiment/default", ["model.action_head.hidden_dim=64", "model.action_head.num_layers=1"])

# 3. A batch as the data loader gives it: raw uint8 images, normalized state and actions, instructions.
dataset_dir = Path(__file__).resolve().parents[1] / "data" / "default"
normalizer = None
if (dataset_dir / "meta" / "info.json").is_file():
    from librobot.data.dataset import ChunkedDataset, collate

    ds = ChunkedDataset(dataset_dir, split="train", action_horizon=cfg.data.action_horizon)
    normalizer = ds.normalizer(dict(cfg.data.normalization))
    batch = normalizer.normalize_batch(collate([ds[i] for i in (0, 500, 1000, 1500)]))
else:
    b, h = 4, cfg.data.action_horizon
    batch = {
        "images": torch.randint(0, 256, (b, 1, 3, 128, 128), dtype=torch.uint8),
        "state": torch.randn(b, 1, 39),
        "actions": torch.rand(b, h, 4) * 2 - 1,
        "action_is_pad": torch.zeros(b, h, dtype=torch.bool),
        "instruction": ["reach the red goal position"] * b,
    }

model = build_model(
    cfg.model,
    state_dim=batch["state"].shape[-1],
    action_dim=batch["actions"].shape[-1],
    action_horizon=batch["actions"].shape[1],
    obs_horizon=batch["state"].shape[1],
    num_cameras=batch["images"].shape[1],
)
print({name: sum(p.numel() for p in params) for name, params in model.param_groups().items()}, "trainable parameters")

# 4. Train a few steps: forward(batch) -> {"loss", ...}; per-component learning rates from param_groups().
groups = model.param_groups()
optimizer = torch.optim.AdamW(
    [{"params": groups["vlm"], "lr": 1e-4}, {"params": groups["encoder"] + groups["action_head"], "lr": 1e-3}]
)
model.train()
for step in range(20):
    loss = model(batch)["loss"]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 5 == 0:
        print(f"step {step:2d}  loss {loss.item():.4f}")

# 5. Predict a normalized action chunk [B, H, Da]; sampling heads take explicit noise (reproducible).
model.eval()
shape = model.noise_shape(len(batch["instruction"]))
noise = torch.randn(shape) if shape else None
actions = model.predict(batch, noise=noise)
print("normalized chunk", tuple(actions.shape))

# 6. Denormalize to robot units with the dataset's normalizer (a bundle carries the same one).
if normalizer is not None:
    robot_actions = normalizer.unnormalize("action", actions)
    print("first action in robot units", [round(float(v), 3) for v in robot_actions[0, 0]])
