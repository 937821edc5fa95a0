"""Training: the accelerate Trainer, optimizers and schedulers, callbacks, checkpoints, tracking.

``librobot.training.train(cfg, output_dir, resume=False)`` trains an experiment and writes its
policy bundle. Heavy imports wait until a function runs, so importing the package stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def train(cfg: Any, output_dir: str | Path, resume: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Train the experiment ``cfg`` and write its policy bundle to ``output_dir`` (see run.py)."""
    from librobot.training.run import train as _train

    return _train(cfg, output_dir, resume=resume, callbacks=callbacks)


__all__ = ["train"]
