"""ActionBuffer: turns action chunks into one action per control step.

Three ways to execute chunks, as the policy literature does:

- ``chunk``: run the first ``execute_steps`` actions of a chunk, then ask for a new one
  (receding horizon; ``execute_steps == H`` is open-loop chunking).
- ``ensemble``: ACT's temporal ensembling. A chunk is predicted every step; the action for step
  ``t`` is the weighted mean of every chunk's prediction for ``t``, with weights
  ``exp(-decay * i)`` where ``i = 0`` is the oldest prediction (ACT weights older ones more,
  which smooths the motion).
- ``blend``: asynchronous execution. The next chunk is computed while the current one keeps
  running; it arrives late, so its first actions (those for steps already executed) are skipped,
  and the switch from the old chunk to the new one is a linear cross-fade over ``blend_steps``
  steps instead of a jump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from librobot.choices import BufferMode


@dataclass
class _Chunk:
    start: int  # the control step its first action is for
    actions: np.ndarray  # [H, Da]
    added: int  # the control step at which it arrived

    def covers(self, step: int) -> bool:
        return self.start <= step < self.start + len(self.actions)

    def at(self, step: int) -> np.ndarray:
        return self.actions[step - self.start]


class ActionBuffer:
    def __init__(
        self,
        execute_steps: int,
        mode: str = "chunk",
        ensemble_decay: float = 0.01,
        blend_steps: int = 4,
    ) -> None:
        BufferMode.parse(mode, "ActionBuffer mode")
        if execute_steps < 1:
            raise ValueError(f"ActionBuffer execute_steps must be >= 1, got {execute_steps}")
        if ensemble_decay < 0:
            raise ValueError(f"ActionBuffer ensemble_decay must be >= 0, got {ensemble_decay}")
        if blend_steps < 0:
            raise ValueError(f"ActionBuffer blend_steps must be >= 0, got {blend_steps}")
        self.mode = mode
        self.execute_steps = int(execute_steps)
        self.ensemble_decay = float(ensemble_decay)
        self.blend_steps = int(blend_steps)
        self.reset()

    def reset(self) -> None:
        self.step = 0
        self._chunks: list[_Chunk] = []

    # -- feeding ----------------------------------------------------------------------------
    def add(self, chunk: np.ndarray, obs_step: int | None = None) -> None:
        """Add a chunk ``[H, Da]`` predicted from the observation of control step ``obs_step``.

        ``obs_step`` defaults to the current step (synchronous inference). In ``blend`` mode a
        chunk computed from an older observation starts in the past: its stale actions are skipped.
        """
        actions = np.asarray(chunk, dtype=np.float64)
        if actions.ndim != 2 or len(actions) == 0:
            raise ValueError(f"ActionBuffer.add expects one chunk [H, action_dim], got shape {actions.shape}")
        if self._chunks and actions.shape[1] != self._chunks[-1].actions.shape[1]:
            raise ValueError(
                f"chunk has action_dim {actions.shape[1]}; the buffer holds chunks of {self._chunks[-1].actions.shape[1]}"
            )
        start = self.step if obs_step is None else int(obs_step)
        if start > self.step:
            raise ValueError(f"chunk observed at step {start} is in the future (buffer is at step {self.step})")
        new = _Chunk(start=start, actions=actions, added=self.step)
        if not new.covers(self.step):
            raise ValueError(
                f"chunk of {len(actions)} actions observed at step {start} has nothing left for step {self.step}"
            )
        if self.mode == "chunk":
            self._chunks = [new]
        elif self.mode == "ensemble":
            self._chunks.append(new)
        else:  # blend: keep the chunk being executed until the cross-fade is over
            self._chunks = [c for c in self._chunks[-1:] if c.covers(self.step)] + [new]

    # -- executing --------------------------------------------------------------------------
    def needs_chunk(self) -> bool:
        """Whether the caller should compute (or, asynchronously, start computing) a new chunk."""
        if not self._chunks:
            return True
        if self.mode == "ensemble":
            return self._chunks[-1].added < self.step or not self._chunks[-1].covers(self.step)
        latest = self._chunks[-1]
        executed = self.step - latest.added
        return executed >= self.execute_steps or not latest.covers(self.step)

    def remaining(self) -> int:
        """Actions left in the newest chunk from the current step on."""
        if not self._chunks:
            return 0
        latest = self._chunks[-1]
        return max(0, latest.start + len(latest.actions) - self.step)

    def pop(self) -> np.ndarray:
        """The action for the current step; advances the step."""
        self._chunks = [c for c in self._chunks if c.covers(self.step)]
        if not self._chunks:
            raise RuntimeError(f"ActionBuffer has no action for step {self.step}: add a chunk first")
        if self.mode == "ensemble":
            action = self._ensembled()
        elif self.mode == "blend" and len(self._chunks) == 2:
            action = self._blended()
        else:
            action = self._chunks[-1].at(self.step)
        self.step += 1
        return action.copy()

    def _ensembled(self) -> np.ndarray:
        preds = np.stack([c.at(self.step) for c in self._chunks])  # oldest first
        weights = np.exp(-self.ensemble_decay * np.arange(len(preds)))
        return (weights[:, None] * preds).sum(0) / weights.sum()

    def _blended(self) -> np.ndarray:
        old, new = self._chunks
        # weight of the new chunk ramps 1/(n+1), 2/(n+1), ... 1 over blend_steps steps after arrival
        alpha = min(1.0, (self.step - new.added + 1) / (self.blend_steps + 1))
        if alpha >= 1.0:
            self._chunks = [new]
        return (1.0 - alpha) * old.at(self.step) + alpha * new.at(self.step)
