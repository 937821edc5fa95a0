"""A robot client that asks for the next action chunk while the current one executes.

The idea of LeRobot's asynchronous inference: a robot that waits for the server between chunks
stands still (or jerks) for a round trip every chunk. Here the control loop calls ``step(obs)``
once per control period and always gets an action back at once:

- when the actions left in the queue drop to ``threshold``, a request with the current observation
  goes out on a background thread; the loop keeps executing the queue meanwhile;
- the chunk that comes back was computed from the observation of an earlier step: the
  ``ActionBuffer`` in ``blend`` mode skips its actions for steps already executed and cross-fades
  from the old chunk to the new one over ``blend_steps`` steps;
- each request has a timeout and is retried (with the newest observation) when the server is
  unavailable; when the queue runs dry before a chunk arrives, the step returns the robot's safe
  action (``RobotSpec.safe_action``: brake, hold the pose, ...) and counts it in ``stats``. The
  client keeps asking, and resumes as soon as a chunk arrives.

Everything about the robot (spec, safe action, horizon, state history) comes from the server's
metadata, so a client needs only the server's address.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from librobot.client.transport import RequestRefused, ServerUnavailable, Transport, TransportError
from librobot.inference.action_buffer import ActionBuffer
from librobot.inference.observation import StateHistory
from librobot.robots import RobotSpec
from librobot.robots.safe_action import with_known_safe_action

SEED_STRIDE = 100_003  # request seed = seed * SEED_STRIDE + step, as `librobot eval` draws its noise


@dataclass
class ClientStats:
    steps: int = 0
    safe_steps: int = 0  # steps that got the safe action: no chunk had an action for them
    attempts: int = 0  # requests sent, retries included
    chunks: int = 0  # chunks added to the queue
    stale_chunks: int = 0  # chunks that arrived with nothing left for the current step
    failed_requests: int = 0  # requests that gave up (retries spent, or refused)
    last_error: str | None = None
    request_ms: list[float] = field(default_factory=list)  # round trip of each successful attempt
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (observation's step, step it joined the queue)
    safe_at: list[int] = field(default_factory=list)  # the steps that got the safe action


@dataclass
class _Reply:
    generation: int
    step: int  # control step of the observation the chunk was computed from
    chunk: np.ndarray | None
    error: TransportError | None = None


class AsyncPolicyClient:
    def __init__(
        self,
        transport: Transport,
        *,
        threshold: int | None = None,
        blend_steps: int = 4,
        timeout_s: float = 1.0,
        retries: int = 2,
        backoff_s: float = 0.05,
        wait_s: float | None = None,
        first_wait_s: float | None = None,
        seed: int | None = None,
    ) -> None:
        """``transport``: an ``HttpTransport`` or ``GrpcTransport`` (closed by ``close()``).

        ``threshold``: request the next chunk when this many actions (or fewer) are left; default
        half the action horizon. ``timeout_s`` per attempt, ``retries`` more attempts on an
        unavailable server. ``wait_s``: how long ``step`` may wait for a chunk in flight when the
        queue is empty before it returns the safe action (default one control period);
        ``first_wait_s``: the same at an episode's start, before any chunk (default ``timeout_s``).
        """
        self.transport = transport
        try:
            self.meta = transport.metadata()
        except Exception:
            transport.close()
            raise
        self.robot = with_known_safe_action(RobotSpec.from_dict(self.meta["robot"]))
        self.horizon = int(self.meta["action_horizon"])
        self.obs_horizon = int(self.meta["obs_horizon"])
        self.threshold = self.horizon // 2 if threshold is None else int(threshold)
        if not 0 <= self.threshold <= self.horizon:
            raise ValueError(f"threshold is {threshold}; expected 0..{self.horizon} (the served action horizon)")
        for name, value in (("timeout_s", timeout_s), ("backoff_s", backoff_s), ("retries", retries)):
            if value < 0 or (name == "timeout_s" and value == 0):
                raise ValueError(f"{name} is {value}; expected {'> 0' if name == 'timeout_s' else '>= 0'}")
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.wait_s = 1.0 / self.robot.fps if wait_s is None else float(wait_s)
        self.first_wait_s = self.timeout_s if first_wait_s is None else float(first_wait_s)
        self.seed = seed
        self.buffer = ActionBuffer(self.horizon, mode="blend", blend_steps=blend_steps)
        self.history = StateHistory(self.obs_horizon)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="librobot-client")
        self._lock = threading.Lock()
        self._pending: Future[_Reply] | None = None
        self._generation = 0
        self.reset()

    def reset(self) -> None:
        """Start an episode: empty queue and state history; a reply still in flight is dropped."""
        with self._lock:
            self._generation += 1
            self._latest: tuple[int, dict[str, Any]] | None = None
        self.buffer.reset()
        self.history.reset()
        self.last_action: np.ndarray | None = None
        self.stats = ClientStats()

    def step(self, observation: Mapping[str, Any]) -> np.ndarray:
        """The action ``[Da]`` (robot units) to execute now, for the raw observation of this step."""
        obs = dict(observation)
        state = np.asarray(obs["state"], dtype=np.float64)
        if state.ndim == 1 and self.obs_horizon > 1:  # the server is stateless: send the whole history
            obs["state"] = self.history.push(state[None, None])[0]
        step = self.buffer.step
        with self._lock:
            self._latest = (step, obs)
        self._collect()
        if self._pending is None and self.buffer.remaining() <= self.threshold:
            self._pending = self._executor.submit(self._fetch, self._generation)
        if self.buffer.remaining() == 0 and self._pending is not None:
            wait_for([self._pending], timeout=self.first_wait_s if self.stats.chunks == 0 else self.wait_s)
            self._collect()
        if self.buffer.remaining() > 0:
            action = self.buffer.pop()
        else:
            action = self.robot.safe_action(state, self.last_action)
            self.stats.safe_at.append(step)
            self.buffer.step += 1  # this step is spent: a late chunk must skip it
            self.stats.safe_steps += 1
        self.last_action = action
        self.stats.steps += 1
        return action

    def _collect(self) -> None:
        """Put a finished reply's chunk into the queue (or count why not)."""
        if self._pending is None or not self._pending.done():
            return
        reply = self._pending.result()
        self._pending = None
        if reply.generation != self._generation:
            return  # asked for in an earlier episode
        if reply.chunk is None:
            self.stats.failed_requests += 1
            self.stats.last_error = str(reply.error)
            return
        try:
            self.buffer.add(reply.chunk, obs_step=reply.step)
        except ValueError:  # it came so late that all its actions are for steps already executed
            self.stats.stale_chunks += 1
            return
        self.stats.chunks += 1
        self.stats.arrivals.append((reply.step, self.buffer.step))

    def _fetch(self, generation: int) -> _Reply:
        """On the background thread: one request, retried with the newest observation while unavailable."""
        for attempt in range(self.retries + 1):
            with self._lock:
                if generation != self._generation or self._latest is None:
                    return _Reply(generation, 0, None, ServerUnavailable("the episode was reset"))
                step, obs = self._latest
            seed = None if self.seed is None else (self.seed * SEED_STRIDE + step) % 2**32
            started = time.perf_counter()
            self.stats.attempts += 1
            try:
                chunk = self.transport.act(obs, seed, self.timeout_s)
            except RequestRefused as err:
                return _Reply(generation, step, None, err)
            except ServerUnavailable as err:
                if attempt == self.retries:
                    return _Reply(generation, step, None, err)
                time.sleep(self.backoff_s * 2**attempt)
                continue
            self.stats.request_ms.append(1000 * (time.perf_counter() - started))
            return _Reply(generation, step, chunk)
        raise AssertionError("unreachable: the last attempt returns")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.transport.close()

    def __enter__(self) -> AsyncPolicyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
