"""``librobot train``: train an experiment and write its policy bundle."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

# the multi-process launcher's entry point: `python -m librobot.cli` (librobot/cli/__main__.py)
CLI_MODULE = "librobot.cli"
ACCELERATE_CONFIGS = "accelerate"  # configs/accelerate/<name>.yaml: ddp, fsdp, deepspeed_zero2, ...


def accelerate_train_command(
    config: str | Path,
    output: str | Path,
    num_processes: int | None,
    launch_args: list[str] | tuple[str, ...] = (),
    train_args: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """``accelerate launch ... -m librobot.cli train`` for ``num_processes`` processes (one per GPU).

    The Kubeflow train component runs exactly this; ``launch_args`` go to ``accelerate launch``
    before the script (e.g. ``["--cpu"]`` in tests, ``["--config_file", path]``); ``num_processes``
    None leaves the count to the accelerate config. ``train_args`` follow ``train`` (``--resume``, overrides).
    """
    count = ["--num_processes", str(num_processes)] if num_processes is not None else []
    launch = ["accelerate", "launch", *launch_args, *count, "-m", CLI_MODULE]
    return [*launch, "train", "--config", str(config), "--output", str(output), *train_args]


def accelerate_config_path(name: str) -> Path:
    """``configs/accelerate/<name>.yaml`` (or ``name`` itself when it is a YAML file)."""
    from librobot.config import config_dir

    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name)
    folder = config_dir() / ACCELERATE_CONFIGS
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ValueError(f"--accelerate-config {name!r}: no {path}; choose one of {known} or give a YAML file")
    return path


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
    from librobot.config import load_config
    from librobot.data.normalizer import Normalizer
    from librobot.training import train

    if args.accelerate_config:
        return _launch(args)
    cfg = load_config(args.config, args.overrides)
    normalizer = Normalizer.load(args.normalizer) if args.normalizer else None
    bundle = train(cfg, args.output, resume=args.resume, normalizer=normalizer)
    print(bundle)
    return 0


def _launch(args: argparse.Namespace) -> int:
    """Run this same command under ``accelerate launch --config_file ...`` (which starts the processes)."""
    from librobot.training.distributed import launched_rank

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
