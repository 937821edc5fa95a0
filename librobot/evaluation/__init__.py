"""Evaluation: closed-loop rollouts in simulation, offline action error, reports with plots and videos.

``librobot.evaluation.evaluate(policy_dir, output, episodes=N)`` writes ``output/report.json``
(``success_rate``, ``per_task``, ...), ``report.md``, ``plots/`` and ``videos/`` (``run.py``).
``librobot.config`` imports this package's ``config.py``, so the package itself loads ``run.py``
(torch, the policy, the simulators' registry) on first use of ``evaluate`` or ``closed_loop_comparison``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from librobot.evaluation.run import evaluate
    from librobot.evaluation.runtime_comparison import closed_loop_comparison

__all__ = ["closed_loop_comparison", "evaluate"]


def __getattr__(name: str) -> Any:
    # lazy: run.py pulls torch and the policy, and imports librobot.config, which imports evaluation.config
    if name == "evaluate":
        from librobot.evaluation.run import evaluate

        return evaluate
    if name == "closed_loop_comparison":
        from librobot.evaluation.runtime_comparison import closed_loop_comparison

        return closed_loop_comparison
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
