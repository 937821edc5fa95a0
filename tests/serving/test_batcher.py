"""The service's micro-batcher, in process: answers go to their own request, failures stay with theirs."""

import asyncio
import re
import threading
import time

import numpy as np
import pytest

from librobot.serving.batcher import BatchMismatchError, MicroBatcher, batching_from_env


class Model:
    """Echoes each item as one row; optionally slow, failing on an item, or returning a wrong count."""

    def __init__(self, delay: float = 0.0, poison: int | None = None, extra_rows: int = 0) -> None:
        self.delay, self.poison, self.extra_rows = delay, poison, extra_rows
        self.calls: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, items):
        with self.lock:
            self.calls.append(list(items))
        time.sleep(self.delay)
        if self.poison is not None and self.poison in items:
            raise ValueError(f"item {self.poison} breaks the model")
        return np.array([[float(i)] for i in items] + [[-1.0]] * self.extra_rows)


async def submit_all(batcher, requests):
    return await asyncio.gather(*(batcher.submit(r) for r in requests), return_exceptions=True)


def test_concurrent_requests_share_model_calls_and_each_gets_its_own_rows():
    model = Model(delay=0.05)
    batcher = MicroBatcher(model, max_batch=8)
    requests = [[10 * k + j for j in range(1 + k % 3)] for k in range(12)]
    results = asyncio.run(submit_all(batcher, requests))
    for request, rows in zip(requests, results, strict=True):
        np.testing.assert_array_equal(rows[:, 0], request)
    assert len(model.calls) < len(requests)  # batched while the model was busy
    assert max(len(c) for c in model.calls) <= 8


def test_a_request_that_breaks_the_model_fails_alone_and_its_batch_neighbours_are_served():
    model = Model(delay=0.05, poison=31)
    batcher = MicroBatcher(model, max_batch=64)
    requests = [[10 * k, 10 * k + 1] for k in range(6)]  # request 3 holds 31
    results = asyncio.run(submit_all(batcher, requests))
    assert isinstance(results[3], ValueError) and "item 31" in str(results[3])
    for k, rows in enumerate(results):
        if k != 3:
            np.testing.assert_array_equal(rows[:, 0], requests[k])
    assert any(len(c) > 2 for c in model.calls)  # the poisoned request really shared a call


def test_a_model_that_returns_the_wrong_number_of_rows_fails_its_batch_rather_than_mis_assigning():
    batcher = MicroBatcher(Model(extra_rows=1), max_batch=64)
    results = asyncio.run(submit_all(batcher, [[1], [2, 3]]))
    assert all(isinstance(r, BatchMismatchError) for r in results)


def test_a_request_larger_than_the_batch_cap_runs_on_its_own():
    model = Model()
    batcher = MicroBatcher(model, max_batch=4)
    results = asyncio.run(submit_all(batcher, [[1, 2, 3, 4], [5], [6, 7, 8, 9]]))
    assert [r[:, 0].tolist() for r in results] == [[1, 2, 3, 4], [5], [6, 7, 8, 9]]
    assert all(len(c) <= 4 for c in model.calls)


def test_an_empty_request_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        asyncio.run(MicroBatcher(Model(), max_batch=4).submit([]))


def test_a_batching_window_gathers_requests_that_arrive_within_it():
    model = Model()
    batcher = MicroBatcher(model, max_batch=8, max_wait_s=0.5)

    async def staggered():
        async def later(k):
            await asyncio.sleep(0.02 * k)
            return await batcher.submit([k])

        return await asyncio.gather(*(later(k) for k in range(3)))

    results = asyncio.run(staggered())
    assert [r[:, 0].tolist() for r in results] == [[0], [1], [2]]
    assert model.calls == [[0, 1, 2]]  # without the window the first request would have run alone


def test_a_full_batch_does_not_wait_for_the_window():
    model = Model()
    batcher = MicroBatcher(model, max_batch=4, max_wait_s=60.0)

    async def full():  # a held batch would run into wait_for's limit, far below the 60 s window
        return await asyncio.wait_for(submit_all(batcher, [[1, 2], [3, 4]]), 10)

    results = asyncio.run(full())
    assert [r[:, 0].tolist() for r in results] == [[1, 2], [3, 4]]


def test_every_model_call_is_reported_with_its_rows_and_each_request_wait():
    runs = []
    batcher = MicroBatcher(Model(delay=0.05), max_batch=64, observe=runs.append)
    asyncio.run(submit_all(batcher, [[1], [2, 3], [4]]))
    assert sum(run.rows for run in runs) == 4
    assert sorted(len(run.waits_s) for run in runs) in ([1, 2], [3])  # one wait per request, whatever the split
    assert all(run.model_s >= 0.05 and run.model_cpu_s >= 0 and min(run.waits_s) >= 0 for run in runs)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIBROBOT_MAX_BATCH": "0"}, "LIBROBOT_MAX_BATCH=0; it must be at least 1"),
        ({"LIBROBOT_MAX_BATCH": "eight"}, "LIBROBOT_MAX_BATCH='eight' is not an integer"),
        ({"LIBROBOT_BATCH_WAIT_MS": "-1"}, "LIBROBOT_BATCH_WAIT_MS=-1; it must be 0 to 1000 ms"),
        ({"LIBROBOT_BATCH_WAIT_MS": "soon"}, "LIBROBOT_BATCH_WAIT_MS='soon' is not a number"),
    ],
)
def test_batching_settings_that_make_no_sense_are_refused_naming_the_variable(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        batching_from_env()


def test_batching_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LIBROBOT_MAX_BATCH", "16")
    monkeypatch.setenv("LIBROBOT_BATCH_WAIT_MS", "2.5")
    assert batching_from_env() == (16, 0.0025)
