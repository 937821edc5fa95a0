import json

import numpy as np
import pytest
import torch

from librobot.checkpoint import atomic_dir, load_tree, save_tree
from librobot.seeding import rng_state, seed_everything, set_rng_state


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_tree(tmp_path, "optimizer", opt.state_dict())
    assert json.loads((tmp_path / "optimizer.json").read_text())  # plain JSON skeleton
    restored = torch.optim.AdamW(model.parameters(), lr=1.0)
    restored.load_state_dict(load_tree(tmp_path, "optimizer"))
    assert restored.param_groups[0]["lr"] == pytest.approx(1e-2)
    for key, value in opt.state_dict()["state"][0].items():
        torch.testing.assert_close(restored.state_dict()["state"][0][key], value)


def test_rng_state_round_trip_reproduces_draws(tmp_path):
    seed_everything(3)
    save_tree(tmp_path, "rng", rng_state())
    first = (np.random.rand(3), torch.rand(3))
    set_rng_state(load_tree(tmp_path, "rng"))
    second = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(first[0], second[0])
    torch.testing.assert_close(first[1], second[1])


def test_atomic_dir_leaves_nothing_when_the_write_fails(tmp_path):
    target = tmp_path / "step-10"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_an_existing_directory(tmp_path):
    target = tmp_path / "latest"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store object"):
        save_tree(tmp_path, "bad", {"x": object()})
