"""Evaluation: closed-loop rollouts in simulation, offline action error, reports with plots and videos.

``librobot.evaluation.evaluate(policy_dir, output, episodes=N)`` writes ``output/report.json``
(``success_rate``, ``per_task``, ...), ``report.md``, ``plots/`` and ``videos/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def evaluate(
    policy_dir: str | Path,
    output: str | Path,
    episodes: int | None = None,
    tasks: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Evaluate a policy bundle (see run.py); returns the report dict."""
    from librobot.evaluation.run import evaluate as _evaluate

    return _evaluate(policy_dir, output, episodes=episodes, tasks=tasks, overrides=overrides, **kwargs)


__all__ = ["evaluate"]
