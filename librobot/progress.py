"""Progress of long work: a tqdm bar on a terminal, plain periodic log lines anywhere else.

A bar redraws itself with ``\\r`` many times a second; in a CI log, a pipeline step's log or a
file that is thousands of frames of noise. Off a terminal the same calls log one line at most
every ``interval`` seconds (and at the end), which reads well in any log.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

log = logging.getLogger("librobot.progress")
LOG_INTERVAL_S = 30.0


class Progress:
    """``update(n)``, ``set_postfix(**values)``, ``close()``, ``n``: the subset of tqdm we use."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str,
        enabled: bool = True,
        initial: int = 0,
        interval: float = LOG_INTERVAL_S,
        stream: TextIO | None = None,
    ) -> None:
        stream = stream if stream is not None else sys.stderr
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.enabled, self.interval = enabled, interval
        self._postfix: dict[str, Any] = {}
        self._bar = None
        if enabled and stream.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, file=stream)
        self._start = self._last_log = time.monotonic()
        self._start_n = initial

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and time.monotonic() - self._last_log >= self.interval:
            self._log()

    def set_postfix(self, **values: Any) -> None:
        self._postfix = values
        if self._bar is not None:
            self._bar.set_postfix(**values)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.n > self._start_n:
            self._log()
        self.enabled = False  # a second close logs nothing

    def line(self) -> str:
        """``train: 120/2500 steps (5%), 3.1 steps/s, eta 12m48s, loss=0.41``"""
        elapsed = time.monotonic() - self._start
        rate = (self.n - self._start_n) / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.desc}: {self.n}/{self.total} {self.unit}s ({100 * self.n / max(self.total, 1):.0f}%)"]
        parts.append(f"{rate:.2f} {self.unit}s/s")
        if rate > 0 and self.n < self.total:
            parts.append(f"eta {_duration((self.total - self.n) / rate)}")
        parts += [f"{key}={value}" for key, value in self._postfix.items()]
        return ", ".join(parts)

    def _log(self) -> None:
        self._last_log = time.monotonic()
        log.info(self.line())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
