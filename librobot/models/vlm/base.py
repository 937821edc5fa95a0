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
