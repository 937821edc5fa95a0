"""Independent jobs in spawned worker processes, for work that is seeded per job (recording, evaluation).

``run_in_processes`` hands each job's result to the caller's thread as the job ends, passes on what the
jobs ``report`` while they run (a progress bar moves per episode, not per job), raises a worker's error
here with its message and drops the jobs not started yet, so an error costs at most the jobs in flight.
Workers are spawned, not forked: a forked child inherits torch's and the GL driver's threads mid-state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from queue import Empty
from typing import Any, TypeVar

R = TypeVar("R")

_messages: Any = None  # in a worker process: the queue ``report`` writes to


def report(*message: Any) -> None:
    """Send ``message`` to the caller's ``on_message`` (a no-op outside ``run_in_processes``)."""
    if _messages is not None:
        _messages.put(message)


def run_in_processes(
    fn: Callable[..., R],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    on_result: Callable[[int, R], None],
    on_message: Callable[..., None] | None = None,
) -> list[R]:
    """``fn(*job)`` for every job, ``workers`` at a time; ``on_result(index, result)`` as each ends.

    ``fn`` must be importable (a module-level function) and its arguments picklable. Returns the
    results in job order.
    """
    context = get_context("spawn")
    messages = context.Queue()
    deliver = on_message or (lambda *message: None)
    results: dict[int, R] = {}
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(messages,)) as pool:
        futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                _drain(messages, deliver)
                for future in finished:
                    i = futures[future]
                    results[i] = future.result()  # a worker's error is raised here, with its traceback
                    on_result(i, results[i])
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    _drain(messages, deliver)  # what the last workers sent just before they ended
    return [results[i] for i in range(len(jobs))]


def _init(messages: Any) -> None:
    global _messages
    _messages = messages


def _drain(messages: Any, deliver: Callable[..., None]) -> None:
    while True:
        try:
            deliver(*messages.get_nowait())
        except Empty:
            return
