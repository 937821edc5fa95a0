"""Each task's results on disk as soon as the task ends, so a killed evaluation resumes where it stopped.

``OUTPUT/tasks/<task>.json`` holds a task's episodes and the settings that decide them: the bundle's
digest (config, weights, normalization), the env with its kwargs, the seeds, the episode count, the
step cap, how chunks are executed and the runtime. ``--resume`` keeps a record only when all of those
are what this run would use, so a resumed report is the report of one uninterrupted run; a record made
otherwise is refused by name rather than mixed in. Workers and threads are left out: they change the
wall time only (``librobot.evaluation.tasks``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from librobot.checkpoint import write_text_atomic
from librobot.evaluation.config import EvalConfig
from librobot.evaluation.tasks import TaskRollouts, slug

RECORDS_DIR = "tasks"
DECIDING_SETTINGS = (
    "episodes_per_task",
    "seed",
    "max_steps",
    "execute_steps",
    "action_mode",
    "ensemble_decay",
    "runtime",
)


def settings_of(bundle: str, cfg: EvalConfig, env_name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """What decides one task's episodes (JSON types, so it compares equal after a round trip)."""
    decided = {"bundle": bundle, "env": env_name, "env_kwargs": dict(kwargs)}
    decided.update({name: getattr(cfg, name) for name in DECIDING_SETTINGS})
    return json.loads(json.dumps(decided, sort_keys=True, default=str))


def record_path(output: Path, env_name: str, kwargs: Mapping[str, Any]) -> Path:
    return output / RECORDS_DIR / f"{slug(str(kwargs.get('task') or env_name))}.json"


def save_record(path: Path, settings: Mapping[str, Any], rollouts: TaskRollouts) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"settings": dict(settings), **vars(rollouts)}
    write_text_atomic(path, json.dumps(record, indent=1, default=str))


def load_records(paths: Sequence[Path], settings: Sequence[Mapping[str, Any]]) -> dict[int, TaskRollouts]:
    """The finished tasks among ``paths`` (by job index); a record made with other settings raises ValueError."""
    found: dict[int, TaskRollouts] = {}
    for i, (path, wanted) in enumerate(zip(paths, settings, strict=True)):
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text())
            kept = {k: record[k] for k in ("task", "episodes", "videos", "inference_s", "chunks")}
            recorded = record["settings"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"{path}: not a task record of `librobot eval` ({err}); remove it to roll the task out again"
            ) from None
        if recorded != wanted:
            changed = [
                f"{k} {recorded.get(k)!r} (now {wanted.get(k)!r})"
                for k in sorted(set(recorded) | set(wanted))
                if recorded.get(k) != wanted.get(k)
            ]
            raise ValueError(
                f"--resume: {path} was rolled out with other settings: {'; '.join(changed)}. "
                "Resume with the same bundle and settings, evaluate into another --output, "
                "or leave out --resume to roll every task out again"
            )
        found[i] = TaskRollouts(**kept)
    return found


def clear_records(output: Path) -> int:
    """Remove the task records under ``output`` (a fresh evaluation); returns how many there were."""
    records = sorted((output / RECORDS_DIR).glob("*.json"))
    for path in records:
        path.unlink()
    return len(records)
