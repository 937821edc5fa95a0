"""``librobot export``: ONNX export of a policy bundle, parity-checked, optionally quantized."""

from __future__ import annotations

import argparse

from librobot.cli import print_json
from librobot.logging import console


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="export a policy bundle to ONNX (+ int8/int4), parity-gated")
    p.add_argument("--policy", required=True, help="policy bundle directory")
    p.add_argument("--quantize", choices=["int8", "int4"], default=None, help="also write a quantized graph")
    p.add_argument("--int8-mode", choices=["dynamic", "static"], default=None, help="default: the config's")
    p.add_argument(
        "--quantize-only", action="store_true", help="quantize the existing onnx/policy.onnx instead of re-exporting"
    )
    p.add_argument(
        "--closed-loop-episodes",
        type=int,
        default=None,
        help="per task: roll out fp32 and the quantized graph on the same seeds; the success drop is gated",
    )
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    # lazy (CLI): export and evaluation pull torch; `librobot --help` stays fast
    from librobot.evaluation.runtime_comparison import closed_loop_comparison
    from librobot.inference.onnx_export import export_policy, quantize_policy

    with console.status(f"exporting {args.policy} (parity on recorded observations)"):
        if args.quantize_only:
            if not args.quantize:
                raise ValueError("--quantize-only needs --quantize int8|int4")
            report = quantize_policy(
                args.policy,
                args.quantize,
                args.int8_mode,
                closed_loop=closed_loop_comparison,
                closed_loop_episodes=args.closed_loop_episodes,
            )
        else:
            report = export_policy(
                args.policy,
                quantize=args.quantize,
                int8_mode=args.int8_mode,
                closed_loop=closed_loop_comparison,
                closed_loop_episodes=args.closed_loop_episodes,
            )
    print_json({k: v for k, v in report.items() if k != "config"})
    return 0
