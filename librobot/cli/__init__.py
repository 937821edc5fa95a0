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
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_list(args: argparse.Namespace) -> int:
    from librobot.registry import REGISTRY

    categories = [args.category] if args.category else list(REGISTRY.categories)
    for category in categories:
        if args.category is None:
            print(f"[{category}]")
        for line in REGISTRY.describe(category):
            print(f"  {line}" if args.category is None else line)
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from librobot.config import load_config

    print(OmegaConf.to_yaml(load_config(args.config, args.overrides), resolve=True), end="")
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
COMMAND_GROUPS = ("data", "train", "evaluate", "infer", "export", "package", "kubeflow")


def main(argv: Sequence[str] | None = None) -> int:
    from librobot.logging import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, FileNotFoundError) as err:
        # errors meant for people: print the message, not a traceback
        from librobot.logging import console

        console.print(f"[bold red]error:[/] {err}", markup=True, highlight=False)
        return 2


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
