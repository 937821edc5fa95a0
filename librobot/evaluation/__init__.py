"""Evaluation: closed-loop rollouts in simulation, offline action error, reports with plots and videos.

``librobot.evaluation.run.evaluate(policy_dir, output, episodes=N)`` writes ``output/report.json``
(``success_rate``, ``per_task``, ...), ``report.md``, ``plots/`` and ``videos/``;
``librobot.evaluation.runtime_comparison.closed_loop_comparison`` is the quantized graph's closed-loop
gate. The package imports nothing itself: ``librobot.config`` imports ``evaluation/config.py``, and
torch, the policy and the simulators load only with the modules that use them.
"""
