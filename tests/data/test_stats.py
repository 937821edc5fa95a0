"""Global streaming stats against numpy on the concatenated data."""

from __future__ import annotations

import numpy as np
import pytest

from librobot.data.stats import ImageStats, RunningStats

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2


def test_streaming_stats_match_numpy_on_concatenated_data():
    rng = np.random.default_rng(0)
    # episodes with different scales and shifted ranges force the histogram to grow both ways
    parts = [rng.normal(loc=i * 3.0, scale=0.5 + i, size=(200 + 37 * i, 4)) for i in range(6)]
    parts.append(rng.uniform(-40, -30, size=(50, 4)))
    acc = RunningStats(bins=4096)
    for p in parts:
        acc.update(p)
    data = np.concatenate(parts)
    res = acc.result()
    np.testing.assert_allclose(res["mean"], data.mean(0), rtol=1e-10)
    np.testing.assert_allclose(res["std"], data.std(0), rtol=1e-10)
    np.testing.assert_array_equal(res["min"], data.min(0))  # min/max pick a value: no rounding, exact
    np.testing.assert_array_equal(res["max"], data.max(0))
    assert res["count"][0] == len(data)
    bound = 4 * (data.max(0) - data.min(0)) / 4096  # the documented error bound
    for key, q in (("q01", 0.01), ("q50", 0.5), ("q99", 0.99)):
        exact = np.quantile(data, q, axis=0)
        assert np.all(np.abs(res[key] - exact) <= bound), (key, res[key], exact, bound)


def test_quantiles_are_global_not_an_envelope_of_episodes():
    # two episodes: per-episode q01/q99 envelopes would give [-1, 101]; the global q99 is near 100 only
    # if most data is there, and q01 near 0 -- check against numpy on the union
    a = np.linspace(0, 1, 1000)[:, None]
    b = np.linspace(100, 101, 10)[:, None]
    acc = RunningStats()
    acc.update(a)
    acc.update(b)
    exact = np.quantile(np.concatenate([a, b]), 0.99, axis=0)
    assert abs(acc.result()["q99"][0] - exact[0]) < 4 * 101 / 4096
    assert acc.result()["q99"][0] < 2.0  # an envelope of per-episode q99s would say ~101


def test_stats_refuse_nan_and_dimension_change():
    acc = RunningStats()
    acc.update(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="3 values"):
        acc.update(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        acc.update(np.array([[np.nan, 0.0]]))


def test_image_stats_are_exact_per_channel():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    acc = ImageStats()
    acc.update(frames[:2])
    acc.update(frames[2:])
    res = acc.result()
    flat = frames.reshape(-1, 3) / 255.0
    assert res["mean"].shape == (3, 1, 1)
    np.testing.assert_allclose(res["mean"].ravel(), flat.mean(0))
    np.testing.assert_allclose(res["std"].ravel(), flat.std(0))
    np.testing.assert_allclose(res["max"].ravel(), flat.max(0))


def test_writer_stats_json_matches_numpy(tiny_dataset):
    from librobot.data.lerobot_v3 import LeRobotV3Reader
    from tests.helpers.data_fixtures import LENGTHS, episode_arrays

    stats = LeRobotV3Reader(tiny_dataset).stats
    state = np.concatenate([episode_arrays(e, n)["observation.state"] for e, n in enumerate(LENGTHS)]).astype(
        np.float32
    )
    np.testing.assert_allclose(stats["observation.state"]["mean"], state.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats["observation.state"]["min"], state.min(0))
    assert stats["observation.images.front"]["mean"].shape == (3, 1, 1)
