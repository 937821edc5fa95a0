"""`librobot data info` / `check` / `md5` call the library and report for people."""

from __future__ import annotations

import json

from librobot.cli import main


def test_info_summarizes_dataset(tiny_dataset, capsys):
    assert main(["data", "info", str(tiny_dataset)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["episodes"] == 3 and out["frames"] == 19 and out["fps"] == 10
    assert out["tasks"] == {"pick the cube": 2, "push the cube": 1}
    assert out["features"]["observation.state"]["shape"] == [3] and out["size_mb"] > 0


def test_check_exit_code_reports_problems(tiny_dataset, capsys):
    assert main(["data", "check", str(tiny_dataset)]) == 0
    assert main(["data", "check", str(tiny_dataset), "--fps", "30"]) == 1
    assert "fps: is 10.0; expected 30" in capsys.readouterr().out


def test_md5_prints_directory_hash(tiny_dataset, capsys):
    assert main(["data", "md5", str(tiny_dataset)]) == 0
    assert capsys.readouterr().out.strip().endswith(".dir")
