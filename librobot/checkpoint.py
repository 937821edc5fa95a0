"""Checkpoints without pickle: tensors go to safetensors, everything else to JSON, written atomically.

``save_tree`` / ``load_tree`` store any nest of dicts, lists, numbers, strings and tensors (an
optimizer's ``state_dict``, RNG states, a step counter) as ``<name>.safetensors`` + ``<name>.json``.
``atomic_dir`` writes a directory under a temporary name and renames it into place, so a run
killed mid-write never leaves a half checkpoint where a resume would find it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_INT_KEYS = "__int_keys__"


def _split(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(tree, tensors, "")
    save_file(_dedupe_storage(tensors), str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(skeleton))


def load_tree(directory: str | Path, name: str) -> Any:
    directory = Path(directory)
    tensors = load_file(str(directory / f"{name}.safetensors"))
    skeleton = json.loads((directory / f"{name}.json").read_text())
    return _join(skeleton, tensors)


def save_weights(
    module_or_state: torch.nn.Module | dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    state = module_or_state.state_dict() if isinstance(module_or_state, torch.nn.Module) else module_or_state
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(_dedupe_storage(tensors), str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_weights(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
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


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``target`` in one rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
