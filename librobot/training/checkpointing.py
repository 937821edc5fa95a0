"""Full training state on disk: ``<output>/checkpoints/step_00000500/``, one atomic directory each.

```
model.safetensors                 the (unwrapped) model's weights, frozen pretrained ones left out
optimizer.{safetensors,json}      optimizer state (per-parameter moments keyed by index)
scheduler.{safetensors,json}      learning-rate scheduler state
callbacks.{safetensors,json}      EMA shadow weights, early-stopping counters, ...
rng.{safetensors,json}            python / numpy / torch RNG states, one entry per process
trainer_state.json                step, data position (epoch, batch), history, MLflow run id
```
No pickle anywhere: tensors go to safetensors, the rest to JSON (librobot.checkpoint).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from librobot.checkpoint import atomic_dir, load_tree, load_weights, recover_atomic_dir, save_tree, save_weights

CHECKPOINTS_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{8})$")
_LEFTOVER = re.compile(r"^\.(step_\d{8})\.(?:tmp-.*|new|old)$")  # what a killed atomic_dir leaves


def checkpoint_path(output_dir: str | Path, step: int) -> Path:
    return Path(output_dir) / CHECKPOINTS_DIR / f"step_{step:08d}"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first (half-written ones never carry the final name)."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name) and (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def recover_checkpoints(output_dir: str | Path) -> None:
    """Clean up after checkpoint writes a killed run left half done (call once at the start of a run, on
    the main process): incomplete ``.step_*.tmp-*`` directories go, a complete ``.step_*.new`` is renamed
    into place. Without this they would pile up, and make a fresh run believe checkpoints exist."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return
    targets = {_LEFTOVER.match(p.name).group(1) for p in root.iterdir() if _LEFTOVER.match(p.name)}
    for name in sorted(targets):
        recover_atomic_dir(root / name)


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    model_state: dict[str, Any],
    optimizer_state: dict[str, Any],
    scheduler_state: dict[str, Any],
    callbacks_state: dict[str, Any],
    rng_states: list[dict[str, Any]],
    trainer_state: dict[str, Any],
    keep: int = 2,
) -> Path:
    target = checkpoint_path(output_dir, step)
    with atomic_dir(target) as tmp:
        save_weights(model_state, tmp / "model.safetensors")
        save_tree(tmp, "optimizer", optimizer_state)
        save_tree(tmp, "scheduler", scheduler_state)
        save_tree(tmp, "callbacks", callbacks_state)
        save_tree(tmp, "rng", {f"rank_{i}": s for i, s in enumerate(rng_states)})
        (tmp / "trainer_state.json").write_text(json.dumps(trainer_state, indent=1))
    for old in list_checkpoints(output_dir)[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    rng = load_tree(path, "rng")
    return {
        "model": load_weights(path / "model.safetensors"),
        "optimizer": load_tree(path, "optimizer"),
        "scheduler": load_tree(path, "scheduler"),
        "callbacks": load_tree(path, "callbacks"),
        "rng": [rng[f"rank_{i}"] for i in range(len(rng))],
        "trainer": json.loads((path / "trainer_state.json").read_text()),
    }
