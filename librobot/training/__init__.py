"""Training: the accelerate Trainer, optimizers and schedulers, callbacks, checkpoints, tracking.

``librobot.training.train(cfg, output_dir, resume=False)`` trains an experiment and writes its
policy bundle (``run.py``). Heavy imports (torch, the models) wait until it runs.
"""

from librobot.training.run import train

__all__ = ["train"]
