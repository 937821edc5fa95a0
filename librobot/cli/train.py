"""``librobot train``: train an experiment and write its policy bundle."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an experiment and write its policy bundle",
        description="Train an experiment; the output directory becomes the policy bundle. Runs on CPU, one GPU, "
        "or several processes under `accelerate launch -m librobot.cli train ...`.",
    )
    p.add_argument("--config", default="experiment/default", help="experiment/<name> or a saved config.yaml")
    p.add_argument("--output", required=True, type=Path, help="bundle directory (training state goes to OUTPUT/train)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/train")
    p.add_argument(
        "--accelerate-config",
        default=None,
        metavar="NAME",
        help="start the run under `accelerate launch --config_file configs/accelerate/NAME.yaml` "
        "(ddp, fsdp, deepspeed_zero2, deepspeed_zero3) or a YAML file",
    )
    p.add_argument("--num-processes", type=int, default=None, help="with --accelerate-config: processes (default: its)")
    p.add_argument(
        "--normalizer", type=Path, help="normalization stats JSON to train with (a pipeline's normalize step)"
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides: training.max_steps=100 model/action_head=mlp_oft")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # lazy (CLI): config pulls omegaconf, training torch; `librobot --help` stays fast
    from librobot.config import load_config
    from librobot.data.normalizer import Normalizer
    from librobot.training.run import train

    if args.accelerate_config:
        return _launch(args)
    cfg = load_config(args.config, args.overrides)
    normalizer = Normalizer.load(args.normalizer) if args.normalizer else None
    bundle = train(cfg, args.output, resume=args.resume, normalizer=normalizer)
    print(bundle)
    return 0


def _launch(args: argparse.Namespace) -> int:
    """Run this same command under ``accelerate launch --config_file ...`` (which starts the processes)."""
    # lazy (CLI): distributed pulls omegaconf through librobot.config; `librobot --help` stays fast
    from librobot.training.distributed import accelerate_config_path, accelerate_train_command, launched_rank

    if launched_rank() is not None:
        raise ValueError(
            "--accelerate-config: this process was already started by a launcher (RANK/LOCAL_RANK are set); "
            "give the config to that launcher (accelerate launch --config_file ...) instead"
        )
    path = accelerate_config_path(args.accelerate_config)
    extra = ["--resume"] if args.resume else []
    if args.normalizer:
        extra += ["--normalizer", str(args.normalizer)]
    command = accelerate_train_command(
        args.config, args.output, args.num_processes, ["--config_file", str(path)], [*extra, *args.overrides]
    )
    print(" ".join(command), flush=True)
    return subprocess.run(command, env=os.environ.copy()).returncode
