"""The service's micro-batcher, in process: answers go to their own request, failures stay with theirs."""

import asyncio
import threading
import time

import numpy as np
import pytest

from librobot.serving.batcher import BatchMismatchError, MicroBatcher


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
