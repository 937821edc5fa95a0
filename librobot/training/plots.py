"""The loss curve of a run as a PNG (train loss per logged step, validation loss per validation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def loss_curve(history: Mapping[str, Sequence[float]], path: str | Path, title: str = "training") -> Path:
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on training machines
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    if history.get("step"):
        ax.plot(history["step"], history["loss"], label="train loss", linewidth=1.2)
    if history.get("val_step"):
        ax.plot(history["val_step"], history["val_loss"], "o-", label="validation loss", linewidth=1.2)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    losses = [v for v in (*history.get("loss", ()), *history.get("val_loss", ())) if v > 0]
    if losses and max(losses) / min(losses) > 20:  # a log scale keeps the tail of the curve readable
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
