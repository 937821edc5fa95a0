"""``librobot data generate --codec libx264 --crf 0 --pix-fmt yuv444p``: the frames a policy trains on are
the frames the simulator rendered, so evaluation (raw renders) sees what training saw."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.sim.metaworld_env import MetaWorldEnv


def test_a_lossless_recording_holds_the_rendered_frames(tmp_path):
    from librobot.cli import main

    out = tmp_path / "reach"
    argv = ["data", "generate", "--tasks", "reach-v3", "--episodes", "1", "--seed", "0", "--out", str(out)]
    video = ["--codec", "libx264", "--crf", "0", "--pix-fmt", "yuv444p"]
    assert main([*argv, *video, "--env-kwargs", '{"image_size": 32}']) == 0
    reader = LeRobotV3Reader(out)
    camera = reader.camera_keys[0]
    info = json.loads((out / "meta" / "info.json").read_text())["features"][camera]["info"]
    assert (info["video.codec"], info["video.pix_fmt"]) == ("h264", "yuv444p")
    env = MetaWorldEnv("reach-v3", image_size=32)
    try:
        rendered = env.reset(int(reader.episodes[0]["librobot/seed"]))["images"][camera.split(".")[-1]]
    finally:
        env.close()
    first = reader.decode_episode(0, camera)[0]
    assert np.abs(first.astype(int) - rendered.astype(int)).max() <= 3  # RGB <-> YUV rounding only


def test_a_pix_fmt_the_codec_cannot_write_is_refused_before_recording(tmp_path, capsys):
    from librobot.cli import main

    if "libsvtav1" not in av.codecs_available:
        pytest.skip("this PyAV build has no AV1 encoder")
    argv = ["data", "generate", "--tasks", "reach-v3", "--episodes", "1", "--out", str(tmp_path / "never")]
    assert main([*argv, "--codec", "libsvtav1", "--pix-fmt", "yuv444p"]) == 2
    assert "pix_fmt 'yuv444p' needs codec libx264; libsvtav1 encodes yuv420p only" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
