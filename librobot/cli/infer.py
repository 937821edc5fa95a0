"""``librobot infer``: run a policy bundle on recorded observations (or an .npz) and print the chunks."""

from __future__ import annotations

import argparse

from librobot.cli import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("infer", help="action chunks of a policy bundle for recorded observations")
    p.add_argument("--policy", required=True, help="policy bundle directory")
    p.add_argument("--runtime", choices=["torch", "onnx", "onnx-int8", "onnx-int4"], default="torch")
    p.add_argument(
        "--observation",
        default=None,
        help=".npz with state, instruction and one uint8 [H, W, 3] array per camera named image_<camera>; "
        "default: observations from the bundle's dataset (or its env)",
    )
    p.add_argument("--count", type=int, default=1, help="recorded observations to run (without --observation)")
    p.add_argument("--seed", type=int, default=0, help="seeds the sampling noise")
    p.set_defaults(func=_cmd_infer)


def _cmd_infer(args: argparse.Namespace) -> int:
    from librobot.inference.infer import run_inference  # lazy (CLI): torch; `librobot --help` stays fast

    print_json(run_inference(args.policy, args.runtime, args.observation, args.count, args.seed))
    return 0
