"""Rollout videos: frames of every camera side by side, H.264 mp4 (plays in any browser), via PyAV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from librobot.data.video import VideoEncoder


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """``frames``: uint8 [H, W, 3] each; even sizes are padded in (yuv420p needs them)."""
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    h, w = frames[0].shape[:2]
    ph, pw = h + h % 2, w + w % 2
    encoder = VideoEncoder(Path(path), fps=min(float(fps), 60.0), height=ph, width=pw, codec="libx264", crf=23)
    try:
        stacked = np.stack(frames)
        if (ph, pw) != (h, w):
            stacked = np.pad(stacked, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)))
        encoder.write(stacked)
    finally:
        encoder.close()
    return Path(path)


def tile_cameras(images: dict[str, np.ndarray], order: Sequence[str]) -> np.ndarray:
    """One frame from several cameras, left to right in ``order``."""
    return np.concatenate([images[c] for c in order], axis=1)
