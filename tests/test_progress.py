"""Progress: a bar only on a terminal; plain periodic log lines in logs and pipelines."""

import io
import logging

import pytest

from librobot.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def progress_lines():
    """Messages logged by librobot.progress, whatever the librobot logger's own set-up."""
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("librobot.progress")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_off_a_terminal_progress_writes_no_bar_frames_but_periodic_log_lines(progress_lines):
    stream = io.StringIO()
    with Progress(10, "train", "step", interval=0.0, stream=stream) as bar:
        for _ in range(10):
            bar.update(1)
            bar.set_postfix(loss="0.5")
    assert stream.getvalue() == ""  # nothing but log records: no \r frames
    assert len(progress_lines) == 11  # one per update at interval 0, plus the closing line
    assert progress_lines[-1].startswith("train: 10/10 steps (100%)") and "loss=0.5" in progress_lines[-1]


def test_off_a_terminal_lines_are_rate_limited(progress_lines):
    bar = Progress(1000, "eval", "episode", interval=3600.0, stream=io.StringIO())
    for _ in range(1000):
        bar.update(1)
    bar.close()
    bar.close()
    assert len(progress_lines) == 1 and progress_lines[0].startswith("eval: 1000/1000 episodes")


def test_on_a_terminal_progress_draws_a_bar():
    stream = Terminal()
    with Progress(4, "record", "episode", stream=stream) as bar:
        bar.update(4)
    assert "record" in stream.getvalue() and "4/4" in stream.getvalue()


def test_disabled_progress_is_silent():
    stream = Terminal()
    with Progress(4, "record", "episode", enabled=False, stream=stream) as bar:
        bar.update(4)
    assert stream.getvalue() == "" and bar.n == 4
