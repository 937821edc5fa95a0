"""A micro-batcher that ties every answer to the request that asked for it.

Requests queue; one worker runs whatever is queued (up to ``max_batch`` items) as one model call in
a thread, while new requests accumulate for the next call. Each request has its own future and gets
exactly the rows of the items it brought. A model call that raises is re-run one request at a
time, so only the request that breaks the model fails; a call that returns more or fewer rows than
it got fails its whole batch loudly rather than hand anyone somebody else's answer.

Why not BentoML's adaptive batching: its dispatcher concatenates inputs, splits outputs by position
and sets one exception on every future of a failed batch (docs/serving.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")
logger = logging.getLogger("librobot.serving")


class BatchMismatchError(RuntimeError):
    """The model returned a different number of rows than it was given."""


@dataclass
class _Request(Generic[T]):
    items: list[T]
    future: asyncio.Future


class MicroBatcher(Generic[T]):
    """``await batcher.submit(items)`` -> the rows of ``run(items + neighbours)`` that are the caller's."""

    def __init__(self, run: Callable[[Sequence[T]], np.ndarray], max_batch: int) -> None:
        self.run = run
        self.max_batch = max_batch
        self._queue: deque[_Request[T]] = deque()
        self._wakeup = asyncio.Event()  # replaced per worker: an Event binds to the loop that first waits on it
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="librobot-model")

    async def submit(self, items: Sequence[T]) -> np.ndarray:
        if not items:
            raise ValueError("submit needs at least one item")
        loop = asyncio.get_running_loop()
        request = _Request(list(items), loop.create_future())
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
                batch = self._take()
                if batch:
                    try:
                        await self._run(batch)
                    except Exception as exc:  # a bug here must not leave requests waiting forever
                        logger.exception("the batcher failed on a batch of %d requests", len(batch))
                        _fail(batch, exc)

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
        try:
            out = await loop.run_in_executor(self._executor, self.run, items)
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


def _fail(batch: Sequence[_Request[Any]], exc: BaseException) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(exc)
