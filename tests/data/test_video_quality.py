"""Video quality of a recording: yuv444p at crf 0 keeps a target a few pixels wide, yuv420p washes it out.

A MetaWorld goal covers 5 pixels of the 96 px corner view; AV1 at crf 30 in yuv420p (LeRobot's
default) decodes its red (205, 5, 5) as (131, 84, 85), so a policy trained on the decoded frames
hardly sees the goal it is evaluated on (docs/data.md, "Video quality").
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from librobot.data.lerobot_v3 import LeRobotV3Reader, LeRobotV3Writer, feature_spec
from librobot.data.video import VideoEncoder

RED = np.array([205, 5, 5])


def _dot_frames(n: int = 12, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grey frames with a 2x2 red dot at a new place in each frame, and the dot's mask."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, size, size, 3), 110, np.uint8)
    frames += rng.integers(0, 20, frames.shape, dtype=np.uint8)  # some texture, as a rendered table has
    mask = np.zeros((n, size, size), bool)
    for t in range(n):
        y, x = rng.integers(2, size - 4, 2)
        mask[t, y : y + 2, x : x + 2] = True
    frames[mask] = RED
    return frames, mask


def _round_trip(root, **video) -> np.ndarray:
    frames, _ = _dot_frames()
    with LeRobotV3Writer(
        root, fps=10, features={"observation.state": feature_spec(["a"])}, cameras={"front": (32, 32)}, **video
    ) as writer:
        writer.add_episode("find the dot", {"observation.state": np.zeros((len(frames), 1))}, {"front": frames})
    return LeRobotV3Reader(root).decode_episode(0, "front")


def test_yuv444p_at_crf_0_keeps_every_pixel_and_says_so_in_info(tmp_path):
    frames, mask = _dot_frames()
    decoded = _round_trip(tmp_path / "ds", codec="libx264", crf=0, pix_fmt="yuv444p")
    err = np.abs(decoded.astype(int) - frames.astype(int))
    assert err.max() <= 3, f"largest error {err.max()} (RGB <-> YUV rounding only)"
    assert np.abs(decoded[mask].astype(int) - RED).max() <= 3
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())["features"]["observation.images.front"]
    assert info["info"]["video.pix_fmt"] == "yuv444p" and info["info"]["video.codec"] == "h264"


def test_the_default_yuv420p_washes_a_small_dot_out(tmp_path):
    # why the option exists: quarter-resolution colour spreads a 2x2 dot's red over its neighbours
    frames, mask = _dot_frames()
    decoded = _round_trip(tmp_path / "ds")
    dot_err = np.abs(decoded[mask].astype(int) - RED).mean()
    assert dot_err > 20, f"the dot's mean colour error is {dot_err:.1f}"


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "match"),
    [
        ("libx264", "rgb24", "pix_fmt 'rgb24': expected one of yuv420p, yuv444p"),
        ("libsvtav1", "yuv444p", "needs codec libx264"),
    ],
)
def test_a_pix_fmt_the_codec_cannot_write_is_refused_by_name(tmp_path, codec, pix_fmt, match):
    with pytest.raises(ValueError, match=match):
        VideoEncoder(tmp_path / "v.mp4", 10, 32, 32, codec=codec, pix_fmt=pix_fmt)
