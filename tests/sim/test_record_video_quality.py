"""``librobot data generate --codec libx264 --crf 0 --pix-fmt yuv444p``: the frames a policy trains on are
the frames the simulator rendered, so evaluation (raw renders) sees what training saw."""

from __future__ import annotations

import json

import numpy as np

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
