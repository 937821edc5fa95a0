"""Contract: a killed run resumed from its checkpoint ends with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import pytest
import torch

from librobot.checkpoint import load_weights
from librobot.training.callbacks import Callback
from librobot.training.checkpointing import list_checkpoints
from librobot.training.run import train
from tests.helpers.tiny_run import tiny_config


class KillAt(Callback):
    """Stands in for SIGKILL: stops the process right after step ``step`` finished (and checkpointed)."""

    name = "kill"

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer) -> None:
        if trainer.step == self.step:
            raise KeyboardInterrupt


@pytest.mark.numeric
def test_resume_matches_uninterrupted_run(tiny_dataset, tmp_path):
    # EMA, validation and a sampling head (flow matching draws noise and timesteps every step)
    # make every piece of saved state matter: weights, optimizer, scheduler, EMA, RNG, data position
    cfg = tiny_config(tiny_dataset, "deterministic=true", ema_decay=0.9, max_steps=6, checkpoint_every=3)
    whole = train(cfg, tmp_path / "whole")

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "killed", callbacks=[KillAt(4)])
    assert [p.name for p in list_checkpoints(tmp_path / "killed" / "train")] == ["step_00000003"]
    resumed = train(cfg, tmp_path / "killed", resume=True)

    a = load_weights(whole / "model.safetensors")
    b = load_weights(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    # exact on purpose: both runs live in this process and see the same batches in the same shapes, so the
    # same kernels give the same bits; any difference is state the checkpoint failed to carry
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"resumed run differs from the uninterrupted one in {different[:5]}"
    # the weights did move: the equality is not two untouched initialisations
    first = load_weights(list_checkpoints(tmp_path / "whole" / "train")[0] / "model.safetensors")
    assert any(not torch.equal(first[k], a[k]) for k in first)
    # checkpoints leave the frozen pretrained weights out (rebuilt from their files on resume)
    assert sum(v.numel() for v in first.values()) < 0.1 * sum(v.numel() for v in a.values())


def test_restart_without_resume_refuses_to_overwrite_checkpoints(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset, max_steps=1, checkpoint_every=1, val_every=0)
    train(cfg, tmp_path / "run")
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, tmp_path / "run")
