"""The ``librobot`` command line. Each command parses its arguments and calls the library.

One module per command group in this package (``data.py``, ``train.py``, ...), each with a
``register(subparsers)`` function. ZenML steps and the Kubeflow components call the same library
functions, so a run from the CLI, from a pipeline and from the cluster executes the same code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from librobot.logging import setup_logging


def _cmd_list(args: argparse.Namespace) -> int:
    # lazy (CLI): the registry pulls omegaconf; `librobot --help` stays fast
    from librobot.registry import REGISTRY

    categories = [args.category] if args.category else list(REGISTRY.categories)
    for category in categories:
        if args.category is None:
            print(f"[{category}]")
        for line in REGISTRY.describe(category):
            print(f"  {line}" if args.category is None else line)
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from librobot.config import load_config, to_yaml  # lazy (CLI): omegaconf; `librobot --help` stays fast

    print(to_yaml(load_config(args.config, args.overrides)), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="librobot", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list registered components (one per line, with aliases)")
    p.add_argument("category", nargs="?", help="vlm, action_head, encoder, framework, robot, env, ...")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("config", help="print the resolved config of an experiment")
    p.add_argument("--config", default="experiment/default", help="experiment/<name> or a saved config.yaml")
    p.add_argument("overrides", nargs="*", help="Hydra overrides: training.max_steps=10 model/action_head=mlp_oft")
    p.set_defaults(func=_cmd_config)

    for group in COMMAND_GROUPS:
        if importlib.util.find_spec(f"{__name__}.{group}") is not None:
            importlib.import_module(f"{__name__}.{group}").register(sub)
    return parser


# command modules in this package, in the order ``librobot --help`` lists them
COMMAND_GROUPS = ("data", "train", "evaluate", "infer", "export", "package", "serve_grpc", "kubeflow")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except Exception as err:
        # errors meant for people (bad input, a missing file) print their message, exit 2; bugs keep the traceback
        if os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes") or not is_user_error(err):
            raise
        text = str(err) if not isinstance(err, KeyError) else str(err.args[0] if err.args else err)
        print(f"librobot: error: {text}", file=sys.stderr)  # LIBROBOT_DEBUG=1 shows the traceback
        return 2


DEBUG_ENV = "LIBROBOT_DEBUG"
# OSErrors that carry the path a user gave (``err.filename``): a wrong path, not a bug
_PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def is_user_error(err: BaseException) -> bool:
    """An error the project raises on purpose for bad input, as opposed to a bug.

    Those are: exceptions defined in librobot (ConfigError, BundleError, DatasetError, RegistryError, ...,
    all ValueError or KeyError subclasses), a ValueError or path error raised by librobot code itself
    (``raise ValueError(...)`` in a librobot module), and path errors that name their file. A ValueError
    or KeyError raised inside torch, numpy, ... (or on a librobot line that is not a ``raise``, such as
    numpy broadcasting two arrays) is a bug, and keeps its traceback, as does anything with LIBROBOT_DEBUG=1.
    """
    if type(err).__module__.split(".")[0] == "librobot":
        return True
    if isinstance(err, _PATH_ERRORS) and (err.filename is not None or _raised_in_librobot(err)):
        return True
    return type(err) is ValueError and _raised_in_librobot(err)


def _raised_in_librobot(err: BaseException) -> bool:
    """Whether the innermost frame is a ``raise`` statement in a librobot module."""
    import linecache

    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename
    if not Path(filename).resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        return False
    return linecache.getline(filename, tb.tb_lineno).lstrip().startswith("raise ")


def _alias(command: str):
    def entry() -> int:
        return main([command, *sys.argv[1:]])

    return entry


train_main = _alias("train")
eval_main = _alias("eval")
infer_main = _alias("infer")
export_main = _alias("export")


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def existing_path(value: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value} does not exist")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
