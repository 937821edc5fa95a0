"""A micro-batcher that ties every answer to the request that asked for it.

Requests queue; one worker runs whatever is queued (up to ``max_batch`` items) as one model call in
a thread, while new requests accumulate for the next call. With ``max_wait_s > 0`` the worker holds
a batch until it is full or its oldest request has waited that long (a window that only pays where
the model gains from bigger batches; ``batching_from_env`` reads both settings). Each request has
its own future and gets exactly the rows of the items it brought. A model call that raises is
re-run one request at a time, so only the request that breaks the model fails; a call that returns
more or fewer rows than it got fails its whole batch loudly rather than hand anyone somebody else's
answer.

Why not BentoML's adaptive batching: its dispatcher concatenates inputs, splits outputs by position
and sets one exception on every future of a failed batch (docs/serving.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")
logger = logging.getLogger("librobot.serving")
MAX_BATCH_ENV = "LIBROBOT_MAX_BATCH"
BATCH_WAIT_ENV = "LIBROBOT_BATCH_WAIT_MS"
# measured (benchmarks/service_latency.py, docs/serving.md): the default policy's graph costs as much
# per sample at batch 16 as at 32 on the 2-core Xeon, so a larger call only makes every request that
# arrives during it wait longer; a window added its whole wait at 1 client and did not grow the
# batches at 8 or 32 clients, where the queue fills while the model is busy anyway
DEFAULT_MAX_BATCH = 16
DEFAULT_BATCH_WAIT_MS = 0.0


class BatchMismatchError(RuntimeError):
    """The model returned a different number of rows than it was given."""


@dataclass
class _Request(Generic[T]):
    items: list[T]
    future: asyncio.Future
    queued_at: float  # time.perf_counter() when it was submitted


@dataclass(frozen=True)
class BatchRun:
    """What one model call did, for the service's metrics: its rows, its wall and CPU seconds (the
    model thread's own clock), and each of its requests' wait in the queue."""

    rows: int
    model_s: float
    model_cpu_s: float
    waits_s: list[float]


def batching_from_env() -> tuple[int, float]:
    """``(max_batch, max_wait_s)`` from ``$LIBROBOT_MAX_BATCH`` and ``$LIBROBOT_BATCH_WAIT_MS`` (defaults above)."""
    max_batch = _env_number(MAX_BATCH_ENV, DEFAULT_MAX_BATCH, int)
    if max_batch < 1:
        raise ValueError(f"{MAX_BATCH_ENV}={max_batch}; it must be at least 1 (observations per model call)")
    wait_ms = _env_number(BATCH_WAIT_ENV, DEFAULT_BATCH_WAIT_MS, float)
    if not 0 <= wait_ms <= 1000:
        raise ValueError(f"{BATCH_WAIT_ENV}={wait_ms:g}; it must be 0 to 1000 ms")
    return max_batch, wait_ms / 1000


def _env_number(name: str, default: Any, kind: type) -> Any:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a{'n integer' if kind is int else ' number'}") from None


class MicroBatcher(Generic[T]):
    """``await batcher.submit(items)`` -> the rows of ``run(items + neighbours)`` that are the caller's."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], np.ndarray],
        max_batch: int,
        max_wait_s: float = 0.0,
        observe: Callable[[BatchRun], None] | None = None,
    ) -> None:
        self.run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.observe = observe  # called after each model call that answered its batch (metrics)
        self._queue: deque[_Request[T]] = deque()
        self._wakeup = asyncio.Event()  # replaced per worker: an Event binds to the loop that first waits on it
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="librobot-model")

    async def submit(self, items: Sequence[T]) -> np.ndarray:
        if not items:
            raise ValueError("submit needs at least one item")
        loop = asyncio.get_running_loop()
        request = _Request(list(items), loop.create_future(), time.perf_counter())
        self._queue.append(request)
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._work())
        self._wakeup.set()
        return await request.future

    async def _work(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                if self.max_wait_s > 0:
                    await self._fill()
                batch = self._take()
                if batch:
                    try:
                        await self._run(batch)
                    except Exception as exc:  # a bug here must not leave requests waiting forever
                        logger.exception("the batcher failed on a batch of %d requests", len(batch))
                        _fail(batch, exc)

    async def _fill(self) -> None:
        """Wait until ``max_batch`` rows are queued or the oldest request has waited ``max_wait_s``."""
        deadline = self._queue[0].queued_at + self.max_wait_s
        while sum(len(r.items) for r in self._queue) < self.max_batch:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), left)

    def _timed_run(self, items: list[T]) -> tuple[np.ndarray, float]:
        """``run(items)`` and the CPU seconds it took, read on the model thread itself."""
        started = time.thread_time()
        out = self.run(items)
        return out, time.thread_time() - started

    def _take(self) -> list[_Request[T]]:
        """Queued requests, oldest first, up to ``max_batch`` items (at least one request)."""
        batch: list[_Request[T]] = []
        rows = 0
        while self._queue:
            request = self._queue[0]
            if request.future.done():  # its client went away (cancelled)
                self._queue.popleft()
                continue
            if batch and rows + len(request.items) > self.max_batch:
                break
            batch.append(self._queue.popleft())
            rows += len(request.items)
        return batch

    async def _run(self, batch: list[_Request[T]]) -> None:
        items = [item for request in batch for item in request.items]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            out, cpu_s = await loop.run_in_executor(self._executor, self._timed_run, items)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            logger.warning(
                "a model call on %d requests failed (%s: %s); re-running them one by one",
                len(batch),
                type(exc).__name__,
                exc,
            )
            for request in batch:
                await self._run([request])
            return
        if len(out) != len(items):
            error = BatchMismatchError(f"the model returned {len(out)} rows for {len(items)} observations")
            logger.error("%s: failing the %d requests of this batch rather than mis-assigning", error, len(batch))
            _fail(batch, error)
            return
        start = 0
        for request in batch:
            rows = out[start : start + len(request.items)]
            start += len(request.items)
            if not request.future.done():
                request.future.set_result(rows)
        if self.observe is not None:
            waits = [started - request.queued_at for request in batch]
            try:
                self.observe(BatchRun(len(items), time.perf_counter() - started, cpu_s, waits))
            except Exception:  # metrics are best effort: the answers already went out
                logger.exception("the batch observer failed")


def _fail(batch: Sequence[_Request[Any]], exc: BaseException) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(exc)
