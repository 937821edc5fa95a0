"""What every framework offers the trainer, the evaluator and the exporter (docs/contracts.md, "Models").

A framework composes a VLM, a state encoder and an action head, each built by name from the model
config. It holds the wiring, never a head's or a VLM's logic. Subclasses implement ``features``:
(images, state, tokens) -> the feature sequence the head reads. Those whose features are
``compose(vlm(images, tokens), state)`` implement ``compose`` too: the exported policy can then take the
instruction's features, computed once per instruction (``splits_text``, inference/text_features.py).
"""

from __future__ import annotations

import abc
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from librobot.registry import build

BatchDict = dict[str, Any]


class VLAFramework(nn.Module, abc.ABC):
    def __init__(
        self,
        model_cfg: DictConfig,
        state_dim: int,
        action_dim: int,
        action_horizon: int,
        obs_horizon: int = 1,
        num_cameras: int = 1,
    ):
        super().__init__()
        self.state_dim, self.action_dim = state_dim, action_dim
        self.action_horizon, self.obs_horizon, self.num_cameras = action_horizon, obs_horizon, num_cameras
        self.vlm = build("vlm", model_cfg.vlm, num_cameras=num_cameras)
        self.feature_dim = self.vlm.feature_dim

    def build_head(self, model_cfg: DictConfig, feature_dim: int) -> nn.Module:
        return build(
            "action_head",
            model_cfg.action_head,
            feature_dim=feature_dim,
            action_dim=self.action_dim,
            action_horizon=self.action_horizon,
        )

    def build_state_encoder(self, model_cfg: DictConfig) -> nn.Module:
        """The encoder maps the state window [B, T, Ds] to tokens [B, N, D]: ``mlp`` gives one token,
        ``history`` one per step."""
        return build(
            "encoder",
            model_cfg.encoder,
            input_dim=self.state_dim,
            output_dim=self.feature_dim,
            obs_horizon=self.obs_horizon,
        )

    # -- the contract -------------------------------------------------------------------------------
    def tokenize(self, instructions: list[str]) -> dict[str, torch.Tensor]:
        return self.vlm.tokenize(instructions)

    def noise_shape(self, batch_size: int) -> tuple[int, int, int] | None:
        return self.action_head.noise_shape(batch_size)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters by component, for per-module learning rates."""
        groups: dict[str, list[nn.Parameter]] = {"vlm": [], "encoder": [], "action_head": []}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            top = name.split(".", 1)[0]
            groups["vlm" if top == "vlm" else "action_head" if top == "action_head" else "encoder"].append(param)
        return groups

    @abc.abstractmethod
    def features(
        self,
        images: torch.Tensor,
        state: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        state_is_pad: torch.Tensor | None = None,
        use_cache: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every registered subclass implements this."""

    def forward(self, batch: BatchDict) -> dict[str, torch.Tensor]:
        feats, mask = self._batch_features(batch)
        actions = batch["actions"].to(feats.dtype)
        out = self.action_head(feats, mask, actions, batch.get("action_is_pad"))
        return out

    @torch.no_grad()
    def predict(self, batch: BatchDict, noise: torch.Tensor | None = None) -> torch.Tensor:
        feats, mask = self._batch_features(batch)
        return self.action_head.predict(feats, mask, noise=noise)

    def export_forward(
        self,
        images: torch.Tensor,
        state: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Tensors in, normalized action chunk out: no caches, no strings, noise as an input (for ONNX)."""
        feats, mask = self.features(images, state, input_ids, attention_mask, use_cache=False)
        return self.action_head.predict(feats, mask, noise=noise)

    # -- the instruction apart: features computed once per instruction (inference/text_features.py) ----
    def compose(
        self, vlm_tokens: torch.Tensor, vlm_mask: torch.Tensor, state: torch.Tensor, state_is_pad: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The features the head reads from the VLM's output and the state window. A framework whose
        ``features`` is ``compose(vlm(...), state)`` implements it, and can then take the instruction's
        features precomputed (``splits_text``); one that threads the instruction otherwise keeps one graph."""
        raise NotImplementedError(f"{type(self).__name__} does not compose VLM tokens and state apart")

    def splits_text(self) -> bool:
        """True when the instruction's features can be computed apart, once per instruction: the VLM
        encodes text apart (``VLMBackbone.encodes_text_apart``) and this framework implements ``compose``."""
        return self.vlm.encodes_text_apart() and type(self).compose is not VLAFramework.compose

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The instruction's tokens ``[B, Nt, D]`` and mask bool ``[B, Nt]``: the exported text graph."""
        return self.vlm.text_features(input_ids, attention_mask)

    def export_forward_from_text(
        self,
        images: torch.Tensor,
        state: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``export_forward`` with the instruction's features (``text_features``) as inputs: the policy graph
        of a split export. ``export_forward(images, state, ids, mask, noise)`` equals
        ``export_forward_from_text(images, state, *text_features(ids, mask), noise)``."""
        if not self.splits_text():
            raise NotImplementedError(
                f"{type(self).__name__} with {type(self.vlm).__name__} cannot take the instruction's features apart"
            )
        vlm_tokens, vlm_mask = self.vlm.forward_text_features(images, text_tokens, text_mask, use_cache=False)
        feats, mask = self.compose(vlm_tokens, vlm_mask, state, None)
        return self.action_head.predict(feats, mask, noise=noise)

    # -- helpers ------------------------------------------------------------------------------------
    def _batch_features(self, batch: BatchDict) -> tuple[torch.Tensor, torch.Tensor]:
        device = self._device()
        if "input_ids" in batch:
            tokens = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        elif "instruction" in batch:
            tokens = self.tokenize(list(batch["instruction"]))
        else:
            raise KeyError("the batch has neither 'input_ids' nor 'instruction': the model needs the language input")
        state = batch["state"].to(device, torch.float32)
        if state.dim() == 2:  # a single step [B, Ds]
            state = state[:, None, :]
        if state.shape[1:] != (self.obs_horizon, self.state_dim):
            raise ValueError(
                f"batch['state'] has shape {tuple(batch['state'].shape)}; this model expects "
                f"[B, {self.obs_horizon}, {self.state_dim}] (obs_horizon, state_dim)"
            )
        pad = batch.get("state_is_pad")
        return self.features(
            batch["images"].to(device),
            state,
            tokens["input_ids"].to(device),
            tokens["attention_mask"].to(device),
            state_is_pad=pad.to(device) if pad is not None else None,
        )

    def _device(self) -> torch.device:
        return next(self.parameters()).device
