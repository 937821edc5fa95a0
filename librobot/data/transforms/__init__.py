"""Sample transforms, registered in category ``transform`` and listed in ``data.transforms``.

A transform is ``callable(sample) -> sample`` on one raw sample (``images`` uint8 [n_cam, 3, H, W],
``state``, ``actions``); random ones draw from torch's RNG, which DataLoader seeds per worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from librobot.registry import build


def build_transforms(cfgs: Iterable[Mapping[str, Any]]):
    """Compose the configured transforms in order."""
    steps = [build("transform", dict(c)) for c in cfgs]

    def apply(sample):
        for step in steps:
            sample = step(sample)
        return sample

    apply.steps = steps
    return apply
