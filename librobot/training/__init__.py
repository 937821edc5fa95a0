"""Training: the accelerate Trainer, optimizers and schedulers, callbacks, checkpoints, tracking.

``librobot.training.run.train(cfg, output_dir, resume=False)`` trains an experiment and writes its
policy bundle. The package imports nothing itself: ``librobot.config`` imports ``training/config.py``,
and torch loads only with the modules that use it.
"""
