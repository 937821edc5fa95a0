"""Checkpoints without pickle: tensors go to safetensors, everything else to JSON, written atomically.

``save_tree`` / ``load_tree`` store any nest of dicts, lists, numbers, strings and tensors (an
optimizer's ``state_dict``, RNG states, a step counter) as ``<name>.safetensors`` + ``<name>.json``.
``atomic_dir`` writes a directory under a temporary name beside it and renames it into place, so a
run killed mid-write never leaves a half checkpoint where a resume would find it; what a killed
write leaves (``.<name>.tmp-*``) stays next to the output, never in /tmp, and the next write or
run start removes it.

torch and safetensors load where tensors are written or read: the atomic-file helpers, and
``librobot.bundle`` with them, import without torch (the serving image has none).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_INT_KEYS = "__int_keys__"


def _split(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    import torch

    if isinstance(obj, torch.Tensor):
        key = prefix or "value"
        tensors[key] = obj.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, np.ndarray):
        return _split(torch.from_numpy(np.ascontiguousarray(obj)), tensors, prefix)
    if isinstance(obj, dict):
        int_keys = bool(obj) and all(isinstance(k, int) for k in obj)
        out = {str(k): _split(v, tensors, f"{prefix}.{k}" if prefix else str(k)) for k, v in obj.items()}
        if int_keys:  # optimizer state is keyed by parameter index
            out[_INT_KEYS] = True
        return out
    if isinstance(obj, (list, tuple)):
        items = [_split(v, tensors, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(obj)]
        return {_TUPLE: items} if isinstance(obj, tuple) else items
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint (tensors and JSON only)")


def _join(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        if _TUPLE in obj:
            return tuple(_join(v, tensors) for v in obj[_TUPLE])
        int_keys = obj.get(_INT_KEYS, False)
        return {(int(k) if int_keys else k): _join(v, tensors) for k, v in obj.items() if k != _INT_KEYS}
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def save_tree(directory: str | Path, name: str, tree: Any) -> None:
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(tree, tensors, "")
    save_file(_dedupe_storage(tensors), str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(skeleton))


def load_tree(directory: str | Path, name: str) -> Any:
    from safetensors.torch import load_file

    directory = Path(directory)
    tensors = load_file(str(directory / f"{name}.safetensors"))
    skeleton = json.loads((directory / f"{name}.json").read_text())
    return _join(skeleton, tensors)


def save_weights(
    module_or_state: torch.nn.Module | dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    import torch
    from safetensors.torch import save_file

    state = module_or_state.state_dict() if isinstance(module_or_state, torch.nn.Module) else module_or_state
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(_dedupe_storage(tensors), str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_weights(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device=device)


def _dedupe_storage(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory (tied weights): store copies."""
    seen: set[int] = set()
    out = {}
    for key, tensor in tensors.items():
        ptr = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        if ptr in seen and ptr != -1:
            tensor = tensor.clone()
        seen.add(ptr)
        out[key] = tensor
    return out


TMP_MARK = ".tmp-"  # in the name of every temporary directory this module makes: ``.<target>.tmp-<random>``


@contextlib.contextmanager
def atomic_dir(target: str | Path, keep: Sequence[str] = ()) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``target`` in one rename.

    ``keep`` names entries of an existing ``target`` carried into the new one (moved, not copied).
    A process killed mid-write (SIGKILL runs no cleanup) leaves ``.<name>.tmp-*`` beside the target;
    the next ``atomic_dir`` of the same target, or ``recover_atomic_dir``, deletes it, and finishes a
    swap that was complete but not yet renamed into place (``.<name>.new``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_atomic_dir(target, keep)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_MARK}", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    new = _sibling(target, "new")
    os.replace(tmp, new)  # complete from here on: a kill now is finished by recover_atomic_dir
    _swap_in(target, keep)


def recover_atomic_dir(target: str | Path, keep: Sequence[str] = ()) -> None:
    """Clean up after an ``atomic_dir(target)`` that was killed: drop incomplete temporary directories,
    swap in a complete ``.<name>.new`` (carrying ``keep`` entries), drop ``.<name>.old``."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{glob.escape(target.name)}{TMP_MARK}*"):
        shutil.rmtree(stale, ignore_errors=True)  # incomplete: kept entries only move into a complete .new
    if _sibling(target, "new").is_dir():
        _swap_in(target, keep)
    shutil.rmtree(_sibling(target, "old"), ignore_errors=True)


def _sibling(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{kind}")


def _swap_in(target: Path, keep: Sequence[str]) -> None:
    new, old = _sibling(target, "new"), _sibling(target, "old")
    for name in keep:
        if (target / name).exists() and not (new / name).exists():
            os.replace(target / name, new / name)  # a rename: cheap, whatever its size
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def scratch_dir(parent: str | Path) -> Iterator[Path]:
    """A scratch directory ``<parent>/.tmp-<random>`` that also receives every ``tempfile`` file and folder
    made meanwhile in this process (ONNX Runtime's quantizer, MLflow, ...), instead of /tmp.

    Removed on exit; what a killed process left there (``<parent>/.tmp-*``) is removed on the next entry,
    so ``parent`` must be an output that one process writes at a time (a bundle, a run directory).
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f"{TMP_MARK}*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=TMP_MARK, dir=parent))
    previous, tempfile.tempdir = tempfile.tempdir, str(path)
    try:
        yield path
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(path, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
