"""The default dataset is DVC-versioned: `dvc pull` restores data/ offline in a fresh clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from librobot.data.versioning import dataset_md5, directory_md5, tracked_root_md5

REPO = Path(__file__).resolve().parents[2]
DVC = str(Path(sys.executable).with_name("dvc"))


def _run(args, cwd):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_dvc_pull_restores_default_dataset_in_a_fresh_clone(tmp_path):
    # a git clone of the working tree lacks uncommitted files, so build the clone from what it would hold
    clone = tmp_path / "clone"
    clone.mkdir()
    _run(["git", "init", "-q"], clone)
    shutil.copytree(REPO / ".dvc", clone / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    for name in ("data.dvc", ".dvcignore"):
        shutil.copy(REPO / name, clone / name)
    shutil.copytree(REPO / "dvc-storage", clone / "dvc-storage")
    assert not (clone / "data").exists()

    _run([DVC, "pull", "-q"], clone)

    info = clone / "data" / "default" / "meta" / "info.json"
    assert info.is_file(), "dvc pull did not restore data/default"
    recorded = yaml.safe_load((clone / "data.dvc").read_text())["outs"][0]["md5"]
    assert dataset_md5(clone / "data") == recorded
    assert directory_md5(clone / "data") == recorded  # our hash is DVC's hash of the restored files
    assert tracked_root_md5(clone / "data" / "default") == (str((clone / "data").resolve()), recorded)

    from librobot.data.lerobot_v3 import LeRobotV3Reader

    reader = LeRobotV3Reader(clone / "data" / "default")
    assert reader.info["librobot"]["env"] == "metaworld" and reader.num_episodes >= 40


def test_default_remote_is_the_in_repo_folder():
    config = (REPO / ".dvc" / "config").read_text()
    assert "remote = local" in config and "url = ../dvc-storage" in config
    size = sum(p.stat().st_size for p in (REPO / "dvc-storage").rglob("*") if p.is_file())
    # every clone carries it: data/default (3.5 MB), default_wrist (11.4), mt10 (16.2), wheel_loader (19.2);
    # a suite such as MT50 (61 MB) belongs on a remote of its own (docs/data.md)
    assert size < 56 * 2**20, f"dvc-storage is {size / 2**20:.1f} MB; keep it under 56 MB"


def test_dataset_md5_of_an_untracked_folder_is_stable_and_content_based(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("1")
    first = dataset_md5(tmp_path / "a")
    assert first.endswith(".dir") and dataset_md5(tmp_path / "a") == first
    (tmp_path / "a" / "x.txt").write_text("2")
    assert dataset_md5(tmp_path / "a") != first
