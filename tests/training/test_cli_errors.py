"""Contract: a user's mistake on the command line is one readable line on stderr and exit code 2; a bug
keeps its traceback (and LIBROBOT_DEBUG=1 shows the traceback of either)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from librobot.cli import main
from librobot.config import ConfigError


def test_a_missing_dataset_is_one_line_naming_the_path(tmp_path, capsys):
    missing = tmp_path / "no-such-dataset"
    code = main(["train", "--output", str(tmp_path / "out"), f"data.path={missing}", "training.max_steps=1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("librobot: error: ") and str(missing) in err and "Traceback" not in err


def test_a_bad_override_key_is_one_line_naming_the_key(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "librobot.cli", "config", "training.max_stepz=3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("librobot: error: ") and "training.max_stepz" in done.stderr
    assert "Traceback" not in done.stderr


def test_restarting_a_run_without_resume_is_a_user_error(tmp_path, capsys):
    (tmp_path / "out" / "train" / "checkpoints" / "step_00000001").mkdir(parents=True)
    (tmp_path / "out" / "train" / "checkpoints" / "step_00000001" / "trainer_state.json").write_text("{}")
    code = main(["train", "--output", str(tmp_path / "out"), "data.path=data/default"])
    assert code == 2 and "pass --resume" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch):
    import librobot.cli as cli

    def broken(args):  # a ValueError from numpy, not a raise of ours: a bug, not bad input
        return np.zeros(2) + np.zeros(3)

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), broken))
    with pytest.raises(ValueError, match="broadcast"):
        main(["list"])


def test_debug_env_shows_the_traceback_of_a_user_error(monkeypatch):
    monkeypatch.setenv("LIBROBOT_DEBUG", "1")
    with pytest.raises(ConfigError, match="training.max_stepz"):
        main(["config", "training.max_stepz=3"])


def _with_func(parser, func):
    """The parser with ``librobot list`` bound to ``func``."""
    for action in parser._subparsers._group_actions:
        action.choices["list"].set_defaults(func=func)
    return parser
