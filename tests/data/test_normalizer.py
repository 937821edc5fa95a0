"""Normalizer: modes, JSON round trip, refusal of names and dimensions it was not built for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from librobot.data.normalizer import Normalizer

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2

STATS = {
    "observation.state": {
        "mean": [1.0, -2.0],
        "std": [2.0, 0.5],
        "min": [-3.0, -4.0],
        "max": [5.0, 0.0],
        "q01": [-2.0, -3.5],
        "q99": [4.0, -0.5],
    },
    "action": {"mean": [0.0], "std": [1.0], "min": [-1.0], "max": [3.0], "q01": [-0.5], "q99": [2.5]},
}
NAMES = {"observation.state": ["a", "b"], "action": ["u"]}


@pytest.mark.parametrize("mode", ["MEAN_STD", "MIN_MAX", "QUANTILES", "IDENTITY"])
def test_round_trip_each_mode(mode, tmp_path):
    norm = Normalizer.from_stats(STATS, {"observation.state": mode, "action": mode}, NAMES)
    x = torch.tensor([[0.5, -1.0], [4.0, -3.9]])
    y = norm.normalize("observation.state", x)
    back = Normalizer.load(norm.save(tmp_path / "n.json")).unnormalize("observation.state", y)
    torch.testing.assert_close(back, x)


def test_modes_map_their_reference_points():
    norm = Normalizer.from_stats(STATS, {"observation.state": "MIN_MAX", "action": "QUANTILES"}, NAMES)
    np.testing.assert_allclose(
        norm.normalize("observation.state", np.array([[-3.0, -4.0], [5.0, 0.0]])), [[-1, -1], [1, 1]]
    )
    np.testing.assert_allclose(norm.normalize("action", np.array([[-0.5], [2.5]])), [[-1], [1]])
    ms = Normalizer.from_stats(STATS, {"observation.state": "MEAN_STD"}, NAMES)
    np.testing.assert_allclose(ms.normalize("observation.state", np.array([3.0, -1.5])), [1.0, 1.0])


def test_normalize_batch_maps_state_and_actions_only():
    norm = Normalizer.from_stats(STATS, {"observation.state": "MEAN_STD", "action": "MIN_MAX"}, NAMES)
    batch = {"state": torch.ones(2, 1, 2), "actions": torch.full((2, 4, 1), 3.0), "instruction": ["x", "y"]}
    out = norm.normalize_batch(batch)
    torch.testing.assert_close(out["actions"], torch.ones(2, 4, 1))
    torch.testing.assert_close(out["state"][0, 0], torch.tensor([0.0, 6.0]))
    assert out["instruction"] == ["x", "y"]


def test_refuses_wrong_dimension_and_names():
    norm = Normalizer.from_stats(STATS, {"observation.state": "MEAN_STD", "action": "MIN_MAX"}, NAMES)
    with pytest.raises(ValueError, match="observation.state has 3 values; the normalizer expects 2"):
        norm.normalize("observation.state", np.zeros((4, 3)))
    with pytest.raises(ValueError, match="missing \\['b'\\]"):
        norm.normalize("observation.state", np.zeros((4, 2)), names=["a", "c"])
    with pytest.raises(ValueError, match="no feature 'observation.velocity'"):
        norm.normalize("observation.velocity", np.zeros(2))
    with pytest.raises(ValueError, match="mode"):
        Normalizer.from_stats(STATS, {"action": "ZSCORE"}, NAMES)
    with pytest.raises(ValueError, match="stats 'q01' has 2 values for 1 names"):
        Normalizer({"action": {"mode": "QUANTILES", "names": ["u"], "stats": {"q01": [0, 1], "q99": [1, 2]}}})


def test_constant_feature_maps_to_zero_and_back():
    stats = {"action": {"min": [2.0], "max": [2.0]}}
    norm = Normalizer.from_stats(stats, {"action": "MIN_MAX"}, {"action": ["u"]})
    # exact in IEEE arithmetic: (2 - 2) / inf is 0 and 0.3 * 0 + 2 is 2 on every CPU
    assert norm.normalize("action", np.array([2.0]))[0] == 0.0
    assert norm.unnormalize("action", np.array([0.3]))[0] == 2.0
