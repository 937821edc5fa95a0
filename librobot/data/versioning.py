"""Which data a run used: the DVC md5 of a dataset directory.

``dataset_md5(path)`` reads the md5 from the ``.dvc`` file that tracks the path (``data.dvc`` for
``data/``) when there is one, so the value equals what ``dvc status`` checks. Otherwise it computes
the hash the way DVC does for a directory (md5 of the sorted JSON list of ``{md5, relpath}``,
suffixed ``.dir``), so an untracked dataset still gets a stable identity.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def dataset_md5(path: str | os.PathLike) -> str:
    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path}: dataset not found")
    tracked = _md5_from_dvc_file(path)
    return tracked if tracked is not None else directory_md5(path)


def _md5_from_dvc_file(path: Path) -> str | None:
    """The md5 recorded in ``<path>.dvc`` when ``path`` itself is the tracked output."""
    import yaml

    if not path.name:  # the filesystem root: nothing tracks it
        return None
    dvc_file = path.with_name(path.name + ".dvc")
    if not dvc_file.is_file():
        return None
    data = yaml.safe_load(dvc_file.read_text()) or {}
    for out in data.get("outs", []):
        if Path(out.get("path", "")).name == path.name and out.get("md5"):
            return str(out["md5"])
    return None


def tracked_root_md5(path: str | os.PathLike) -> tuple[str, str] | None:
    """For a dataset inside a DVC-tracked folder (``data/default`` in ``data/``): (tracked path, md5)."""
    path = Path(path).resolve()
    for parent in (path, *path.parents):
        md5 = _md5_from_dvc_file(parent)
        if md5 is not None:
            return str(parent), md5
    return None


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def directory_md5(path: str | os.PathLike) -> str:
    root = Path(path)
    if root.is_file():
        return file_md5(root)
    entries = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    listing = [{"md5": file_md5(p), "relpath": rel} for rel, p in entries]
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest() + ".dir"
