"""The policy bundle: the one directory every consumer (eval, export, infer, package, serve) loads.

```
<bundle>/config.yaml  model.safetensors  normalization.json  metadata.json  onnx/
```
``normalization.json`` carries the robot spec and the normalizer's modes and stats, so the code
that runs a policy checks and normalizes observations exactly as training did.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from librobot.checkpoint import atomic_dir, load_weights, save_weights, write_text_atomic
from librobot.robots import RobotSpec

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"
NORMALIZATION_FILE = "normalization.json"
METADATA_FILE = "metadata.json"
ONNX_DIR = "onnx"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, NORMALIZATION_FILE, METADATA_FILE)


class BundleError(ValueError):
    """A bundle that is incomplete or disagrees with what loads it."""


@dataclass
class Bundle:
    path: Path
    cfg: DictConfig
    model: Any  # the framework nn.Module, in eval mode
    normalization: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def robot(self) -> RobotSpec:
        return RobotSpec.from_dict(self.normalization["robot"])

    @property
    def normalizer(self):
        from librobot.data.normalizer import Normalizer

        return Normalizer.from_dict(self.normalization["normalizer"])

    @property
    def cameras(self) -> list[str]:
        return list(self.normalization["cameras"])

    @property
    def action_horizon(self) -> int:
        return int(self.normalization["action_horizon"])

    @property
    def obs_horizon(self) -> int:
        return int(self.normalization["obs_horizon"])

    @property
    def onnx_dir(self) -> Path:
        return self.path / ONNX_DIR


def save_bundle(
    directory: str | Path,
    cfg: DictConfig,
    model: Any,
    normalization: dict[str, Any],
    metadata: dict[str, Any],
    keep: Sequence[str] = (),
) -> Path:
    """Write a complete bundle atomically (an existing ``onnx/`` export is dropped: it is stale).

    ``model`` is the framework module or its state dict. ``keep`` names entries of an existing
    ``directory`` carried into the new bundle unchanged (the trainer's ``train/`` state).
    """
    directory = Path(directory)
    metadata = {"created": _dt.datetime.now(_dt.UTC).isoformat(), "code_commit": code_commit(), **metadata}
    with atomic_dir(directory) as tmp:
        (tmp / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
        save_weights(model, tmp / WEIGHTS_FILE)
        (tmp / NORMALIZATION_FILE).write_text(json.dumps(normalization, indent=2))
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
        for name in keep:
            if (directory / name).exists():
                os.replace(directory / name, tmp / name)  # a rename: cheap, whatever its size
    return directory


def read_json(directory: str | Path, name: str) -> dict[str, Any]:
    path = Path(directory) / name
    if not path.is_file():
        raise BundleError(f"{path} is missing: not a complete policy bundle (needs {', '.join(REQUIRED_FILES)})")
    return json.loads(path.read_text())


def update_metadata(directory: str | Path, **entries: Any) -> dict[str, Any]:
    """Merge ``entries`` into metadata.json (e.g. eval metrics, export reports)."""
    metadata = read_json(directory, METADATA_FILE)
    metadata.update(entries)
    write_text_atomic(Path(directory) / METADATA_FILE, json.dumps(metadata, indent=2, default=str))
    return metadata


def load_bundle(directory: str | Path, device: str = "cpu", with_model: bool = True) -> Bundle:
    """Load a bundle; the model is rebuilt from config.yaml and gets the safetensors weights."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(f"policy bundle {directory} does not exist")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise BundleError(f"policy bundle {directory} is missing {', '.join(missing)}")
    cfg = OmegaConf.load(directory / CONFIG_FILE)
    normalization = read_json(directory, NORMALIZATION_FILE)
    metadata = read_json(directory, METADATA_FILE)
    model = None
    if with_model:
        model = build_model_for(cfg, normalization)
        state = load_weights(directory / WEIGHTS_FILE, device=device)
        result = model.load_state_dict(state, strict=False)
        unexpected = list(result.unexpected_keys)
        # frozen pretrained parts may be left out of the file; anything else missing is an error
        missing_keys = [k for k in result.missing_keys if not _is_frozen_pretrained(model, k)]
        if unexpected or missing_keys:
            raise BundleError(
                f"{directory / WEIGHTS_FILE} does not match the model in config.yaml: "
                f"missing {missing_keys[:5]}, unexpected {unexpected[:5]}"
            )
        model.to(device).eval()
    return Bundle(path=directory, cfg=cfg, model=model, normalization=normalization, metadata=metadata)


def build_model_for(cfg: DictConfig, normalization: dict[str, Any]):
    from librobot.models import build_model

    robot = RobotSpec.from_dict(normalization["robot"])
    return build_model(
        cfg.model,
        state_dim=robot.state_dim,
        action_dim=robot.action_dim,
        action_horizon=int(normalization["action_horizon"]),
        obs_horizon=int(normalization["obs_horizon"]),
        num_cameras=len(normalization["cameras"]),
    )


def _is_frozen_pretrained(model: Any, key: str) -> bool:
    names = getattr(model, "pretrained_state_keys", None)
    return bool(names) and key in names()


def code_commit() -> str | None:
    """The git commit of the LibroBot checkout (with ``-dirty`` when it has local changes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha
