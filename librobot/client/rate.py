"""Keep a control loop at the robot's rate, and measure how well it kept it."""

from __future__ import annotations

import time


class Rate:
    """``rate.sleep()`` at the top of each iteration waits for the next tick of ``fps``.

    A loop that overran a whole period starts the next tick from now instead of bursting to catch
    up: a robot must not get several commands at once.
    """

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.period = 1.0 / fps
        self.next: float | None = None

    def sleep(self) -> float:
        """Wait for the next tick; returns how late (seconds) this tick started."""
        now = time.perf_counter()
        if self.next is None:
            self.next = now
        elif now < self.next:
            time.sleep(self.next - now)
        late = max(0.0, time.perf_counter() - self.next)
        self.next = (self.next if late < self.period else time.perf_counter()) + self.period
        return late
