"""A tiny but real policy bundle for inference and serving tests.

Real components end to end: a LeRobot v3 dataset written by ``LeRobotV3Writer`` (2 episodes, two
32x32 cameras of the so100_arm), its Normalizer, and a framework from ``build_model`` with the real
pretrained VLM at its smallest settings, saved with ``save_bundle``. Untrained weights are fine:
these tests check plumbing and numerics (parity, normalization, refusal), not task success.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROBOT = "so100_arm"
CAMERAS = ("front", "wrist")
HW = (32, 32)
HORIZON = 4
INSTRUCTIONS = ("pick up the cube", "place the cube in the bin")
# a sampling head, so noise is a graph input; replaces whatever head the default experiment picks
HEAD = {"name": "flow_matching", "hidden_dim": 32, "num_layers": 1, "num_heads": 2, "num_inference_steps": 2}
OVERRIDES = [
    f"robot={ROBOT}",
    "model.vlm.hidden_dim=32",
    "model.vlm.image_size=32",
    "model.vlm.image_grid=1",
    "model.vlm.feature_cache=false",
    "model.encoder.hidden_dims=[32]",
    f"data.action_horizon={HORIZON}",
    "+export.parity_samples=6",
    "+export.calibration_samples=8",
    "export.closed_loop_episodes=0",  # no simulator for this synthetic robot
]


def write_dataset(root: Path, episodes: int = 2, length: int = 10, seed: int = 0) -> Path:
    from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec
    from librobot.robots import load_robot

    robot = load_robot(ROBOT)
    rng = np.random.default_rng(seed)
    low, high = robot.bounds("state")
    alow, ahigh = robot.bounds("action")
    features = {
        "observation.state": feature_spec(robot.state_names),
        "action": feature_spec(robot.action_names),
    }
    with LeRobotV3Writer(
        root, fps=robot.fps, features=features, cameras={c: HW for c in CAMERAS}, robot_type=ROBOT
    ) as w:
        for ep in range(episodes):
            t = np.linspace(0, 1, length)[:, None]
            state = low + (high - low) * (0.3 + 0.4 * np.sin(t * 3 + rng.uniform(0, 1, robot.state_dim)) ** 2)
            action = alow + (ahigh - alow) * (0.2 + 0.6 * t * rng.uniform(0.5, 1, robot.action_dim))
            grad = np.linspace(0, 255, HW[1], dtype=np.float64)[None, None, :, None]
            frames = {
                cam: np.clip(grad + 8 * np.arange(length)[:, None, None, None] + 40 * i, 0, 255).astype(np.uint8)
                * np.ones((length, *HW, 3), np.uint8)
                for i, cam in enumerate(CAMERAS)
            }
            w.add_episode(INSTRUCTIONS[ep % 2], {"observation.state": state, "action": action}, frames)
    return root


def make_bundle(root: Path, obs_horizon: int = 1, extra_overrides: list[str] | None = None) -> Path:
    """Dataset + bundle under ``root``; returns the bundle directory."""
    import torch

    from librobot.bundle import save_bundle
    from librobot.config import load_config, validate
    from librobot.data.dataset import ChunkedDataset
    from librobot.models import build_model
    from librobot.robots import load_robot

    torch.manual_seed(0)
    dataset = write_dataset(root / "dataset")
    overrides = OVERRIDES + [f"data.obs_horizon={obs_horizon}", f"data.path={dataset}"] + (extra_overrides or [])
    cfg = load_config("experiment/default", overrides)
    cfg.model.action_head = dict(HEAD)
    cfg = validate(cfg)
    robot = load_robot(cfg.robot)
    ds = ChunkedDataset(dataset, cameras=list(CAMERAS), action_horizon=HORIZON, obs_horizon=obs_horizon)
    normalizer = ds.normalizer(dict(cfg.data.normalization))
    model = build_model(
        cfg.model,
        state_dim=robot.state_dim,
        action_dim=robot.action_dim,
        action_horizon=HORIZON,
        obs_horizon=obs_horizon,
        num_cameras=len(CAMERAS),
    )
    _wake_zero_init(model)
    normalization = {
        "robot": robot.to_dict(),
        "normalizer": normalizer.to_dict(),
        "cameras": list(CAMERAS),
        "image_shape": [3, *HW],
        "action_horizon": HORIZON,
        "obs_horizon": obs_horizon,
        "action_representation": "absolute",
    }
    metadata = {"dataset": {"path": str(dataset), "md5": "0123abcd"}, "tasks": list(INSTRUCTIONS)}
    return save_bundle(root / "bundle", cfg, model, normalization, metadata)


def observation(rng: np.random.Generator, state_dim: int = 12) -> dict:
    return {
        "images": {cam: rng.integers(0, 256, (*HW, 3), dtype=np.uint8) for cam in CAMERAS},
        "state": rng.uniform(-50, 50, state_dim),
        "instruction": INSTRUCTIONS[0],
    }


def _wake_zero_init(model) -> None:
    """adaLN-Zero heads start as the identity (zero gates), so an untrained model ignores its images
    and instruction; give zero-initialized parameters small random values so every input matters."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad and not param.any():
                param.copy_(torch.randn(param.shape, generator=gen) * 0.05)


def exported_bundle(tmp_path_factory) -> Path:
    """The tiny bundle exported to ONNX fp32 + static (QDQ) int8, built once per test session."""
    from librobot.inference.onnx_export import export_policy

    root = tmp_path_factory.getbasetemp() / "librobot_tiny_exported"
    bundle = root / "bundle"
    if not (bundle / "onnx" / "policy.int8.onnx").is_file():
        make_bundle(root)
        export_policy(bundle, quantize="int8", int8_mode="static")
    return bundle


def exported_single_graph_bundle(tmp_path_factory) -> Path:
    """The tiny bundle exported as before text graphs (``export.text_graph=false``): one fp32 graph that
    takes token ids and encodes the instruction every call, as old bundles hold; built once per session."""
    from librobot.inference.onnx_export import export_policy

    root = tmp_path_factory.getbasetemp() / "librobot_tiny_single_graph"
    bundle = root / "bundle"
    if not (bundle / "onnx" / "policy.onnx").is_file():
        make_bundle(root)
        export_policy(bundle, text_graph=False)
    return bundle
