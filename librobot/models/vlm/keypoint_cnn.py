"""A small trainable image encoder: conv stack -> spatial softmax keypoints (Levine et al. 2016, robomimic,
Diffusion Policy), with random-shift augmentation while training (DrQ).

Why: the frozen, ImageNet-pooled EfficientNet features say *what* is in a 96 px frame but blur *where*:
from camera + proprioception the policy must find a puck or a red goal dot that covers a few pixels.
Spatial softmax turns each of ``keypoints`` feature maps into the expected (x, y) of its activation,
a representation that keeps position by construction and trains from a few thousand frames on CPU.
Everything here is plain tensor code and exports to ONNX; the augmentation runs only in training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialSoftmax(nn.Module):
    """[N, K, h, w] maps -> [N, K, 2] expected (x, y) in [-1, 1] under a per-map softmax."""

    def __init__(self, height: int, width: int):
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], dim=1), persistent=False)  # [hw, 2]
        self.log_temperature = nn.Parameter(torch.zeros(()))  # learned sharpness

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        attention = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1)  # [N, K, hw]
        return attention @ self.grid


class KeypointCNN(nn.Module):
    """float [N, 3, S, S] (already normalized) -> [N, 2 * keypoints] flattened keypoint coordinates."""

    def __init__(self, image_size: int, channels: list[int], keypoints: int):
        super().__init__()
        if not channels or keypoints < 1:
            raise ValueError(
                f"vlm.cnn_channels must list conv widths and vlm.keypoints be >= 1; got {channels}, {keypoints}"
            )
        layers: list[nn.Module] = []
        width, size = 3, image_size
        for i, out in enumerate(channels):
            stride = 2 if i % 2 == 0 else 1  # halve the resolution every other layer
            layers += [nn.Conv2d(width, out, 3, stride=stride, padding=1), nn.GroupNorm(min(8, out), out), nn.ReLU()]
            width, size = out, -(-size // stride)
        layers.append(nn.Conv2d(width, keypoints, 1))
        self.net = nn.Sequential(*layers)
        self.spatial_softmax = SpatialSoftmax(size, size)
        self.output_dim = 2 * keypoints

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial_softmax(self.net(x)).flatten(1)


def random_shift(x: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to ``pad`` pixels in x and y, edges replicated (DrQ's augmentation)."""
    if pad <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])
