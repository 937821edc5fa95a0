"""The dataset a run needs is on disk: ``dvc pull`` it when missing, and name it by its DVC md5."""

from __future__ import annotations

from pathlib import Path

from librobot.data.versioning import dataset_md5
from librobot.logging import get_logger

log = get_logger("validation.presence")


def ensure_dataset(path: str | Path) -> dict[str, str]:
    """Return ``{"path", "md5"}`` of the LeRobot dataset at ``path``, pulling it with DVC if absent."""
    root = Path(path).resolve()
    if not (root / "meta" / "info.json").is_file():
        dvc_pull(root)
    tracked = dvc_tracked_parent(root)  # data/default inside data/ (data.dvc): the md5 DVC checks
    return {"path": str(root), "md5": dataset_md5(tracked or root)}


def dvc_tracked_parent(root: Path) -> Path | None:
    """The directory at or above ``root`` that a ``<dir>.dvc`` file tracks, if any."""
    for parent in (root, *root.parents):
        if parent.name and parent.with_name(parent.name + ".dvc").is_file():
            return parent
    return None


def dvc_pull(root: Path) -> None:
    """Pull the DVC output that holds ``root`` (the repo's default remote works offline)."""
    from dvc.repo import Repo

    parent = dvc_tracked_parent(root)
    if parent is None:
        raise FileNotFoundError(f"dataset {root} is missing and no .dvc file tracks it (looked for <dir>.dvc above it)")
    dvc_file = parent.with_name(parent.name + ".dvc")
    log.info("dataset %s is missing: dvc pull %s", root, dvc_file)
    with Repo(str(dvc_file.parent)) as repo:
        repo.pull(targets=[str(dvc_file)])
    if not (root / "meta" / "info.json").is_file():
        raise FileNotFoundError(f"dvc pull {dvc_file} did not restore {root} (no meta/info.json there)")
