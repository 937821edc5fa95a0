"""load_dataset's library call: a missing DVC-tracked dataset is pulled (offline remote), then named by its md5."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from librobot.validation.presence import ensure_dataset
from tests.helpers.lerobot_fixture import write_dataset


def test_missing_dataset_is_pulled_from_the_dvc_remote(tmp_path, tiny_robot):
    from dvc.repo import Repo

    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    subprocess.run(["git", "init", "-q", str(repo_dir)], check=True)
    write_dataset(repo_dir / "data" / "default", tiny_robot)
    with Repo.init(str(repo_dir)) as repo:
        repo.config["core"]["analytics"] = False
        with repo.config.edit() as conf:
            conf["remote"]["local"] = {"url": str(tmp_path / "remote")}
            conf["core"]["remote"] = "local"
        repo.add(str(repo_dir / "data"))
        repo.push()
    tracked_md5 = (repo_dir / "data.dvc").read_text().split("md5: ")[1].split()[0]

    shutil.rmtree(repo_dir / "data")
    shutil.rmtree(repo_dir / ".dvc" / "cache")
    record = ensure_dataset(repo_dir / "data" / "default")
    assert (repo_dir / "data" / "default" / "meta" / "info.json").is_file()
    assert record == {"path": str(repo_dir / "data" / "default"), "md5": tracked_md5}


def test_untracked_dataset_gets_a_content_md5_and_a_missing_one_is_named(tmp_path, tiny_robot):
    root = write_dataset(tmp_path / "ds", tiny_robot)
    first = ensure_dataset(root)
    assert first["md5"].endswith(".dir") and ensure_dataset(root) == first
    with pytest.raises(FileNotFoundError, match="no .dvc file tracks it"):
        ensure_dataset(tmp_path / "nowhere")
