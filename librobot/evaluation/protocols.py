"""Published evaluation protocols: fixed settings a result must be measured under to sit beside others.

``lerobot_metaworld`` is the protocol of LeRobot's MetaWorld evaluation (the SmolVLA paper's MT50
table): each episode runs until success or 500 control steps (MetaWorld's ``max_path_length``), 10
seeded episodes per task, success per task and for the suite with 95% confidence intervals, and the
suite split by difficulty (easy / medium / hard / very hard, Seo et al. 2022, as LeRobot groups it).
Under a protocol the rollout seeds must not be seeds the training data was recorded with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from librobot.choices import EvalProtocol
from librobot.data.lerobot_v3 import LeRobotV3Reader

METAWORLD_DIFFICULTY: dict[str, tuple[str, ...]] = {
    "easy": (
        "button-press-v3",
        "button-press-topdown-v3",
        "button-press-topdown-wall-v3",
        "button-press-wall-v3",
        "coffee-button-v3",
        "dial-turn-v3",
        "door-close-v3",
        "door-lock-v3",
        "door-open-v3",
        "door-unlock-v3",
        "drawer-close-v3",
        "drawer-open-v3",
        "faucet-close-v3",
        "faucet-open-v3",
        "handle-press-v3",
        "handle-press-side-v3",
        "handle-pull-v3",
        "handle-pull-side-v3",
        "lever-pull-v3",
        "plate-slide-v3",
        "plate-slide-back-v3",
        "plate-slide-back-side-v3",
        "plate-slide-side-v3",
        "reach-v3",
        "reach-wall-v3",
        "window-close-v3",
        "window-open-v3",
        "peg-unplug-side-v3",
    ),
    "medium": (
        "basketball-v3",
        "bin-picking-v3",
        "box-close-v3",
        "coffee-pull-v3",
        "coffee-push-v3",
        "hammer-v3",
        "peg-insert-side-v3",
        "push-wall-v3",
        "soccer-v3",
        "sweep-v3",
        "sweep-into-v3",
    ),
    "hard": ("assembly-v3", "hand-insert-v3", "pick-out-of-hole-v3", "pick-place-v3", "push-v3", "push-back-v3"),
    "very_hard": ("shelf-place-v3", "disassemble-v3", "stick-pull-v3", "stick-push-v3", "pick-place-wall-v3"),
}


@dataclass(frozen=True)
class Protocol:
    name: str
    settings: Mapping[str, Any]  # eval settings the protocol fixes
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> task names


PROTOCOLS = {
    EvalProtocol.LEROBOT_METAWORLD: Protocol(
        EvalProtocol.LEROBOT_METAWORLD,
        settings={"max_steps": 500, "episodes_per_task": 10, "seed": 1000},
        groups=METAWORLD_DIFFICULTY,
    ),
}


def get_protocol(name: str) -> Protocol:
    return PROTOCOLS[EvalProtocol.parse(name, "eval.protocol")]


def protocol_settings(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` eval settings with the protocol's fixed ones; a given value that contradicts one is an error."""
    protocol = get_protocol(name)
    clashes = {k: v for k, v in given.items() if v is not None and k in protocol.settings and v != protocol.settings[k]}
    if clashes:
        fixed = ", ".join(f"{k}={protocol.settings[k]}" for k in clashes)
        raise ValueError(
            f"eval.protocol {name} fixes {fixed}; drop {', '.join(f'{k}={v}' for k, v in clashes.items())} "
            "or evaluate without the protocol"
        )
    return {**given, **protocol.settings}


def group_summary(per_task: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Iterable[str]], wilson) -> dict:
    """Success per group over the evaluated tasks of each group (groups with none evaluated are left out)."""
    out = {}
    for group, members in groups.items():
        tasks = [t for t in members if t in per_task]
        if not tasks:
            continue
        wins = sum(int(per_task[t]["successes"]) for t in tasks)
        n = sum(int(per_task[t]["episodes"]) for t in tasks)
        out[group] = {
            "tasks": tasks,
            "successes": wins,
            "episodes": n,
            "success_rate": wins / n if n else 0.0,
            "ci95": list(wilson(wins, n)),
        }
    return out


def recorded_seeds(dataset: str | Path) -> dict[str, set[int]] | None:
    """Per task, the seeds the dataset's episodes were recorded with (meta/episodes ``librobot/seed``).

    None when the dataset is not at hand or does not say (recorded elsewhere).
    """
    import json

    root = Path(dataset)
    if not (root / "meta" / "info.json").is_file():
        return None
    out: dict[str, set[int]] = {}
    for row in LeRobotV3Reader(root).episodes:
        if row.get("librobot/seed") is None:
            return None
        task = json.loads(row.get("librobot/env_kwargs") or "{}").get("task", "")
        out.setdefault(task, set()).add(int(row["librobot/seed"]))
    return out


def seen_seeds(eval_seeds: Mapping[str, Iterable[int]], dataset: str | Path | None) -> dict[str, list[int]]:
    """Per task, the evaluation seeds that were also recording seeds of ``dataset`` (same task, same scene)."""
    recorded = recorded_seeds(dataset) if dataset else None
    if not recorded:
        return {}
    overlap = {task: sorted(set(seeds) & recorded.get(task, set())) for task, seeds in eval_seeds.items()}
    return {task: seeds for task, seeds in overlap.items() if seeds}
