"""Contracts of the Trainer's options: gradient accumulation, bf16 on CPU, early stopping."""

from __future__ import annotations

import json
import math

import torch

from librobot.checkpoint import load_weights
from librobot.training.callbacks import EarlyStopping
from librobot.training.run import train
from tests.helpers.tiny_run import tiny_config


def test_grad_accumulation_equals_one_larger_batch(tiny_dataset, tmp_path):
    # 2 micro-batches of 8 cover the same 16 samples as one batch of 16 (the batch order is a
    # function of the seed); the deterministic mlp_oft head makes the gradients comparable
    common = dict(max_steps=2, val_every=0, checkpoint_every=0, grad_clip_norm="null", ema_decay="null")
    common["optimizer.name"] = "sgd"  # Adam would amplify float rounding in near-zero gradients

    def run(name: str, **training):
        out = train(tiny_config(tiny_dataset, head="mlp_oft", **common, **training), tmp_path / name)
        return load_weights(out / "model.safetensors")

    big = run("big", batch_size=16)
    acc = run("acc", batch_size=8, grad_accum_steps=2)
    small = run("small", batch_size=8)  # half the data per step: what no accumulation would give

    def gap(a, b):
        return max((a[k] - b[k]).abs().max().item() for k in a)

    assert gap(big, acc) < 1e-4
    assert gap(big, acc) * 10 < gap(big, small), (gap(big, acc), gap(big, small))


def test_accumulation_weights_follow_the_real_action_steps_of_each_micro_batch():
    from librobot.training.trainer import accumulation_weights

    pad = torch.zeros(2, 4, dtype=torch.bool)
    padded = pad.clone()
    padded[:, 1:] = True  # chunks at an episode's end: 1 real step of 4 per sample
    full, short = {"action_is_pad": pad}, {"action_is_pad": padded}
    assert accumulation_weights([full, short]) == [1.6, 0.4]  # 8 and 2 real steps of 10
    assert accumulation_weights([full, full]) == [1.0, 1.0]
    assert accumulation_weights([{"actions": torch.zeros(3, 4, 2)}]) == [1.0]  # no padding recorded


def test_bf16_mixed_precision_trains_on_cpu(tiny_dataset, tmp_path):
    out = train(tiny_config(tiny_dataset, max_steps=2, val_every=2, mixed_precision="bf16"), tmp_path / "bf16")
    metrics = json.loads((out / "metadata.json").read_text())["train_metrics"]
    assert math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])
    assert all(
        v.dtype == torch.float32 for v in load_weights(out / "model.safetensors").values() if v.is_floating_point()
    )


class _Run:
    """The part of a Trainer that EarlyStopping touches."""

    step = 0
    should_stop = False


def test_early_stopping_waits_patience_validations_without_improvement():
    run, stop = _Run(), EarlyStopping(patience=2, min_delta=0.01)
    for step, loss in enumerate([1.0, 0.8, 0.795, 0.9], start=1):  # 0.795 is within min_delta: no gain
        run.step = step
        stop.on_validation_end(run, loss)
        if run.should_stop:
            break
    assert run.should_stop and stop.stopped_at == 4 and stop.best == 0.8
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(json.loads(json.dumps(stop.state_dict())))  # survives a JSON checkpoint
    assert (restored.best, restored.bad_validations, restored.stopped_at) == (0.8, 2, 4)
