"""``librobot train``: train an experiment and write its policy bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

# the multi-process launcher's entry point: `python -m librobot.cli` (librobot/cli/__main__.py)
CLI_MODULE = "librobot.cli"


def accelerate_train_command(
    config: str | Path, output: str | Path, num_processes: int, launch_args: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """``accelerate launch ... -m librobot.cli train`` for ``num_processes`` processes (one per GPU).

    The Kubeflow train component runs exactly this; ``launch_args`` go to ``accelerate launch``
    before the script (e.g. ``["--cpu"]`` in tests).
    """
    launch = ["accelerate", "launch", *launch_args, "--num_processes", str(num_processes), "-m", CLI_MODULE]
    return [*launch, "train", "--config", str(config), "--output", str(output)]


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
        "--normalizer", type=Path, help="normalization stats JSON to train with (a pipeline's normalize step)"
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides: training.max_steps=100 model/action_head=mlp_oft")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from librobot.config import load_config
    from librobot.data.normalizer import Normalizer
    from librobot.training import train

    cfg = load_config(args.config, args.overrides)
    normalizer = Normalizer.load(args.normalizer) if args.normalizer else None
    bundle = train(cfg, args.output, resume=args.resume, normalizer=normalizer)
    print(bundle)
    return 0
