"""``librobot serve-grpc``: the packaged policy over gRPC (Act, ActStream, Metadata, Health)."""

from __future__ import annotations

import argparse
import os

from librobot.serving import DEFAULT_MODEL_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve-grpc", help="serve a packaged policy over gRPC (the HTTP service's model, checks and token)"
    )
    p.add_argument(
        "--model",
        default=os.environ.get("LIBROBOT_MODEL_TAG") or f"{DEFAULT_MODEL_NAME}:latest",
        help="BentoML model tag from `librobot package` (default: $LIBROBOT_MODEL_TAG, else the latest librobot-policy)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=50051, help="port (0: any free one; the log line names it)")
    p.add_argument(
        "--runtime",
        choices=["onnx", "onnx-int8", "onnx-int4"],
        default=None,
        help="graph to serve among those packaged (default: $LIBROBOT_RUNTIME, else the packaged default)",
    )
    p.set_defaults(func=_cmd_serve_grpc)


def _cmd_serve_grpc(args: argparse.Namespace) -> int:
    import asyncio

    from librobot.serving.grpc_server import serve  # lazy (CLI): grpc; `librobot --help` stays fast

    asyncio.run(serve(args.model, args.host, args.port, args.runtime))
    return 0
