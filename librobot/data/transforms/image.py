"""Image augmentations on uint8 [n_cam, 3, H, W]; output stays uint8 (the dataset contract)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from librobot.registry import register_transform


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.round().clamp(0, 255).to(torch.uint8)


@dataclass
class ResizeConfig:
    height: int = 96
    width: int = 96


@register_transform("image_resize", aliases=["resize"])
class ImageResize:
    config_class = ResizeConfig

    def __init__(self, cfg: ResizeConfig):
        self.size = (cfg.height, cfg.width)

    def __call__(self, sample: dict) -> dict:
        img = sample["images"].float()
        sample["images"] = _to_uint8(
            F.interpolate(img, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        )
        return sample


@dataclass
class RandomShiftConfig:
    pad: int = 4  # pixels: replicate-pad then crop back at a random offset (DrQ)


@register_transform("random_shift", aliases=["random_crop"])
class RandomShift:
    config_class = RandomShiftConfig

    def __init__(self, cfg: RandomShiftConfig):
        self.pad = cfg.pad

    def __call__(self, sample: dict) -> dict:
        img = sample["images"]
        n, _, h, w = img.shape
        padded = F.pad(img.float(), (self.pad,) * 4, mode="replicate")
        out = torch.empty_like(img)
        for i in range(n):  # each camera its own shift
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2,)).tolist()
            out[i] = _to_uint8(padded[i, :, dy : dy + h, dx : dx + w])
        sample["images"] = out
        return sample


@dataclass
class ColorJitterConfig:
    brightness: float = 0.2  # factor drawn from [1 - b, 1 + b]
    contrast: float = 0.2
    saturation: float = 0.2


@register_transform("color_jitter")
class ColorJitter:
    config_class = ColorJitterConfig

    def __init__(self, cfg: ColorJitterConfig):
        self.cfg = cfg

    def _factor(self, amount: float) -> float:
        return 1.0 + (torch.rand(()).item() * 2 - 1) * amount

    def __call__(self, sample: dict) -> dict:
        img = sample["images"].float()
        img = img * self._factor(self.cfg.brightness)
        mean = img.mean(dim=(1, 2, 3), keepdim=True)
        img = (img - mean) * self._factor(self.cfg.contrast) + mean
        gray = (0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2]).unsqueeze(1)
        img = (img - gray) * self._factor(self.cfg.saturation) + gray
        sample["images"] = _to_uint8(img)
        return sample
