"""Independent jobs in spawned worker processes, for work that is seeded per job (recording, evaluation).

``run_in_processes`` hands each job's result to the caller's thread as the job ends, passes on what the
jobs ``report`` while they run (a progress bar moves per episode, not per job), raises a worker's error
here with its message and drops the jobs not started yet, so an error costs at most the jobs in flight;
a worker whose caller was killed stops at its next ``report``.
Workers are spawned, not forked: a forked child inherits torch's and the GL driver's threads mid-state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from queue import Empty
from typing import Any, TypeVar

R = TypeVar("R")

_messages: Any = None  # in a worker process: the queue ``report`` writes to
_caller: int | None = None  # in a worker process: the caller's pid


def report(*message: Any) -> None:
    """Send ``message`` to the caller's ``on_message`` (a no-op outside ``run_in_processes``).

    A worker whose caller has died (SIGKILL, the OOM killer: nothing ran to stop the pool) exits here
    instead of working on for no one; jobs that report per episode stop within an episode.
    """
    if _messages is None:
        return
    if os.getppid() != _caller:
        os._exit(1)
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
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(messages, os.getpid())) as pool:
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


def _init(messages: Any, caller: int) -> None:
    global _messages, _caller
    _messages, _caller = messages, caller


def _drain(messages: Any, deliver: Callable[..., None]) -> None:
    while True:
        try:
            deliver(*messages.get_nowait())
        except Empty:
            return
