"""Evaluation: closed-loop rollouts in simulation, offline action error, reports with plots and videos.

``librobot.evaluation.evaluate(policy_dir, output, episodes=N)`` writes ``output/report.json``
(``success_rate``, ``per_task``, ...), ``report.md``, ``plots/`` and ``videos/`` (``run.py``).
"""

from librobot.evaluation.run import evaluate

__all__ = ["evaluate"]
