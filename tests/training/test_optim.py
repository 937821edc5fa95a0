"""Contracts of optimizers, schedulers and parameter groups (per-component learning rates)."""

from __future__ import annotations

import pytest
import torch

from librobot.models import build_model
from librobot.registry import REGISTRY
from librobot.training.optim import build_optimizer, build_scheduler


@pytest.fixture(scope="module")
def model(tiny_dataset):
    from tests.helpers.tiny_run import tiny_config

    cfg = tiny_config(tiny_dataset)
    return build_model(cfg.model, state_dim=39, action_dim=4, action_horizon=4)


def test_optimizers_and_schedulers_are_registered():
    assert {"adamw", "adam", "sgd"} <= set(REGISTRY.names("optimizer"))
    assert {"cosine", "constant"} <= set(REGISTRY.names("scheduler"))


def test_param_groups_scale_lr_per_component_and_leave_frozen_weights_out(model):
    opt = build_optimizer(model, {"name": "adamw", "lr": 1e-3}, {"vlm": 0.1, "encoder": 0.5, "action_head": 2.0})
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == pytest.approx({"vlm": 1e-4, "encoder": 5e-4, "action_head": 2e-3})
    in_optimizer = {id(p) for g in opt.param_groups for p in g["params"]}
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert frozen, "the pretrained VLM parts are frozen by default"
    assert not any(id(p) in in_optimizer for p in frozen)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optimizer == trainable


def test_unknown_lr_multiplier_names_the_known_components(model):
    with pytest.raises(ValueError, match=r"lr_multipliers names \['action_haed'\].*action_head"):
        build_optimizer(model, {"name": "adamw", "lr": 1e-3}, {"action_haed": 2.0})


def test_cosine_warms_up_then_decays_to_min_and_constant_stays_flat():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = build_scheduler(opt, {"name": "cosine", "warmup_steps": 4, "min_lr_ratio": 0.1}, total_steps=20)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:], strict=False))  # monotone decay after warmup
    assert lrs[-1] == pytest.approx(0.1, abs=0.01)

    opt = torch.optim.SGD([param], lr=2.0)
    sched = build_scheduler(opt, {"name": "constant", "warmup_steps": 2}, total_steps=10)
    seen = []
    for _ in range(5):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([1.0, 2.0, 2.0, 2.0, 2.0])
