"""What every VLM backbone offers a framework.

``forward(images, input_ids, attention_mask) -> (features [B, N, D], mask bool [B, N])``: images enter
as uint8 ``[B, n_cam, 3, H, W]`` and the backbone does its own resizing and normalization (with
exportable ops), token ids come from its own ``tokenize``. ``feature_dim`` is D.
"""

from __future__ import annotations

import abc

import torch
from torch import nn


class VLMBackbone(nn.Module, abc.ABC):
    feature_dim: int

    @abc.abstractmethod
    def tokenize(self, instructions: list[str]) -> dict[str, torch.Tensor]:
        """Every registered subclass implements this."""

    def image_token_count(self) -> int | None:
        """How many leading tokens of ``forward``'s output are image tokens (all cameras), when image and
        instruction tokens are encoded apart: the rest are then the instruction's alone. None where one
        network mixes them (a language model over [images; instruction]): no token is the instruction's
        alone, and frameworks that keep the two apart (octo_style) refuse the VLM."""
        return None

    def stop_caching_images(self) -> None:
        """For inference: a robot's camera never sends the same frame twice, so a cache of image features
        would only fill memory (up to its cap, in every process that serves). VLMs without one keep nothing."""

    # -- the instruction apart (computed once per instruction at inference; docs: inference/text_features.py)
    def encodes_text_apart(self) -> bool:
        """True when the instruction's tokens depend on the instruction alone and the VLM offers them
        apart: ``text_features`` and ``forward_text_features`` (a VLM that overrides both)."""
        cls = type(self)
        return (
            cls.text_features is not VLMBackbone.text_features
            and cls.forward_text_features is not VLMBackbone.forward_text_features
        )

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The instruction's tokens ``[B, Nt, D]`` and mask bool ``[B, Nt]``, exactly as ``forward`` appends
        them after the image tokens; uncached, pure tensor code (it exports as the text graph). Positions
        where the mask is False carry nothing: a consumer may drop them or re-pad with anything."""
        raise NotImplementedError(
            f"{type(self).__name__} encodes images and instruction in one network: no token is the instruction's alone"
        )

    def forward_text_features(
        self, images: torch.Tensor, text_tokens: torch.Tensor, text_mask: torch.Tensor, use_cache: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` with the instruction's tokens and mask already computed by ``text_features``."""
        raise NotImplementedError(
            f"{type(self).__name__} encodes images and instruction in one network: it cannot take text features"
        )

    def frozen_modules(self) -> list[nn.Module]:
        """The pretrained parts that are frozen: kept in eval mode (no dropout, fixed batch-norm stats)."""
        return []

    def freeze(self, module: nn.Module | None = None) -> None:
        for p in (module or self).parameters():
            p.requires_grad_(False)

    def unfreeze(self, module: nn.Module | None = None) -> None:
        for p in (module or self).parameters():
            p.requires_grad_(True)

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def train(self, mode: bool = True) -> VLMBackbone:
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self


def check_images(images: torch.Tensor, num_cameras: int) -> None:
    if images.dim() != 5 or images.shape[1] != num_cameras or images.shape[2] != 3:
        raise ValueError(
            f"images have shape {tuple(images.shape)}; expected uint8 [B, {num_cameras}, 3, H, W] "
            f"({num_cameras} camera(s), channels first)"
        )
    if images.dtype != torch.uint8:
        raise ValueError(f"images have dtype {images.dtype}; the VLM expects uint8 and normalizes them itself")
