"""Training: the accelerate Trainer, optimizers and schedulers, callbacks, checkpoints, tracking.

``librobot.training.train(cfg, output_dir, resume=False)`` trains an experiment and writes its
policy bundle (``run.py``). Heavy imports (torch, the models) wait until it runs: ``librobot.config``
imports this package's ``config.py``, so the package itself loads ``run.py`` on first use of ``train``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from librobot.training.run import train

__all__ = ["train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        # lazy: run.py pulls torch and the models, and imports librobot.config, which imports training.config
        from librobot.training.run import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
