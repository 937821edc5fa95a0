"""Jobs for tests/test_parallel.py: importable, so spawned worker processes can run them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from librobot.parallel import report


def square(x: int) -> int:
    report("squared", x)
    return x * x


def fail(x: int) -> int:
    raise ValueError(f"job {x} failed on purpose")


def report_slowly(times: int, pid_file: str) -> int:
    """Writes its pid, then reports every 50 ms: a long job whose caller the test kills."""
    Path(pid_file).write_text(str(os.getpid()))
    for i in range(times):
        time.sleep(0.05)
        report(i)
    return times
