"""Evaluation: closed-loop rollouts in simulation, offline action error, reports with plots and videos.

``librobot.evaluation.evaluate(policy_dir, output, episodes=N)`` writes ``output/report.json``
(``success_rate``, ``per_task``, ...), ``report.md``, ``plots/`` and ``videos/`` (``run.py``).
"""

from librobot.evaluation.run import evaluate
from librobot.evaluation.runtime_comparison import closed_loop_comparison

__all__ = ["closed_loop_comparison", "evaluate"]
