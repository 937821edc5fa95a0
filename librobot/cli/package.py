"""``librobot package``: an exported policy bundle -> a BentoML model carrying its normalization."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("package", help="create a BentoML model from an exported policy bundle; prints its tag")
    p.add_argument("--policy", required=True, help="policy bundle directory (after `librobot export`)")
    p.add_argument("--name", default="librobot-policy", help="BentoML model name")
    p.add_argument(
        "--runtime", choices=["onnx", "onnx-int8", "onnx-int4"], default=None, help="graph served by default"
    )
    p.set_defaults(func=_cmd_package)


def _cmd_package(args: argparse.Namespace) -> int:
    from librobot.serving.package import package_policy  # lazy (CLI): numpy, omegaconf; `librobot --help` stays fast

    print(package_policy(args.policy, name=args.name, runtime=args.runtime))
    return 0
