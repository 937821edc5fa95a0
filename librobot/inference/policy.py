"""Policy: raw observation in robot units -> action chunk in robot units, from a bundle.

    policy = Policy.from_bundle("outputs/bundle", runtime="onnx")
    chunk = policy.act({"images": {"corner": img}, "state": state, "instruction": "reach"}, seed=0)

Every step is the bundle's: observations are checked against its robot and cameras, the state is
normalized with its normalizer, actions are unnormalized with it and clipped to the robot's action
bounds. The same code runs behind torch and ONNX Runtime, and behind the BentoML service.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from librobot.bundle import load_bundle
from librobot.choices import Runtime
from librobot.data.action_repr import from_relative
from librobot.inference.observation import CheckedObservation, ObservationSpec, StateHistory, check_observation
from librobot.inference.runtime import OrtRuntime, PolicyRuntime, TorchRuntime
from librobot.policy_spec import PolicySpec

ONNX_FILES = {"onnx": "policy.onnx", "onnx-int8": "policy.int8.onnx", "onnx-int4": "policy.int4.onnx"}
TOKENIZER_DIR = "tokenizer"
SUPPORTED_REPRESENTATIONS = ("absolute", "relative")  # delta needs the executed past: not served


class Policy:
    def __init__(self, runtime: PolicyRuntime, policy_spec: PolicySpec) -> None:
        self.runtime = runtime
        self.policy_spec = policy_spec
        self.spec = ObservationSpec.from_spec(policy_spec)
        self.robot = policy_spec.robot
        self.normalizer = policy_spec.normalizer
        self.action_horizon = policy_spec.action_horizon
        representation = str(policy_spec.action_representation)
        if representation not in SUPPORTED_REPRESENTATIONS:
            raise ValueError(
                f"normalization.json action_representation is {representation!r}; Policy runs "
                f"{', '.join(SUPPORTED_REPRESENTATIONS)} actions"
            )
        self.representation = representation
        self.history = StateHistory(self.spec.obs_horizon)

    @classmethod
    def from_bundle(cls, path: str | Path, runtime: str = "torch", threads: int | None = None) -> Policy:
        Runtime.parse(runtime, "runtime")
        bundle = load_bundle(path, with_model=runtime == "torch")
        if runtime == "torch":
            engine: Any = TorchRuntime(bundle.model)
        else:
            engine = OrtRuntime(bundle.onnx_dir / ONNX_FILES[runtime], bundle.onnx_dir / TOKENIZER_DIR, threads=threads)
            engine.name = runtime
        return cls(engine, bundle.spec)

    # -- the pipeline -------------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new episode: forget the state history."""
        self.history.reset()

    def act(
        self, observation: Mapping[str, Any], seed: int | None = None, noise: np.ndarray | None = None
    ) -> np.ndarray:
        """Action chunk ``[H, Da]`` (``[B, H, Da]`` for a batched observation) in robot units, clipped."""
        obs = check_observation(observation, self.spec)
        actions = self.act_checked(obs, seed=seed, noise=noise)
        return actions if obs.batched else actions[0]

    def act_checked(
        self, obs: CheckedObservation, seed: int | None = None, noise: np.ndarray | None = None
    ) -> np.ndarray:
        state = obs.state if obs.has_history else self.history.push(obs.state)
        normalized = self.predict_normalized(obs.images, self.normalize_state(state), obs.instructions, seed, noise)
        return self.postprocess(normalized, state[:, -1])

    def normalize_state(self, state: np.ndarray) -> np.ndarray:
        return self.normalizer.normalize("observation.state", state).astype(np.float32)

    def predict_normalized(
        self,
        images: np.ndarray,
        state: np.ndarray,
        instructions: list[str],
        seed: int | None = None,
        noise: np.ndarray | None = None,
    ) -> np.ndarray:
        if noise is None:
            noise = self.noise(len(images), seed)
        elif self.runtime.samples():
            expected = (len(images), self.action_horizon, self.robot.action_dim)
            if tuple(noise.shape) != expected:
                raise ValueError(f"noise has shape {tuple(noise.shape)}; expected {expected} (B, H, action_dim)")
        return self.runtime.run(images, state, instructions, noise)

    def noise(self, batch_size: int, seed: int | None) -> np.ndarray | None:
        """Standard normal noise ``[B, H, Da]`` for sampling heads: the same seed gives the same actions."""
        if not self.runtime.samples():
            return None
        rng = np.random.default_rng(seed)
        return rng.standard_normal((batch_size, self.action_horizon, self.robot.action_dim)).astype(np.float32)

    def postprocess(self, normalized: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Normalized chunk [B, H, Da] -> robot units, clipped; ``state`` [B, Ds] is the current raw state."""
        actions = np.asarray(self.normalizer.unnormalize("action", np.asarray(normalized, dtype=np.float64)))
        if self.representation == "relative":
            actions = from_relative(actions, state)
        return self.robot.clip(actions.astype(np.float64), "action")
