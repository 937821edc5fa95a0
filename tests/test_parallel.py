"""``librobot.parallel.run_in_processes``: results in job order, reports passed on, errors by name, no orphans."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from librobot.parallel import run_in_processes
from tests.helpers.parallel_jobs import fail, square

ROOT = Path(__file__).resolve().parents[1]


def test_results_come_back_in_job_order_with_every_report():
    ended: list[int] = []
    messages: list[tuple] = []
    results = run_in_processes(
        square, [(1,), (2,), (3,)], 2, lambda i, r: ended.append(i), lambda *m: messages.append(m)
    )
    assert results == [1, 4, 9]
    assert sorted(ended) == [0, 1, 2]
    assert sorted(messages) == [("squared", 1), ("squared", 2), ("squared", 3)]


def test_a_workers_error_reaches_the_caller_with_its_message():
    with pytest.raises(ValueError, match="job 7 failed on purpose"):
        run_in_processes(fail, [(7,)], 1, lambda i, r: None)


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"  # a zombie has exited; only its exit status waits to be read


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_stop_when_their_caller_is_killed(tmp_path):
    pid_file = tmp_path / "worker.pid"
    script = (
        "from librobot.parallel import run_in_processes\n"
        "from tests.helpers.parallel_jobs import report_slowly\n"
        f"run_in_processes(report_slowly, [(100_000, {str(pid_file)!r})], 1, lambda i, r: None)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.monotonic() + 120
    while not pid_file.is_file() and caller.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.is_file(), "the worker never started"
    worker = int(pid_file.read_text())
    assert _alive(worker)
    caller.kill()  # SIGKILL: no clean-up runs in the caller
    caller.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the worker outlived its killed caller"
