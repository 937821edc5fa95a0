"""``librobot eval``: closed-loop (and offline) evaluation of a policy bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from librobot.choices import ActionMode, EvalProtocol, Runtime
from librobot.cli import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a policy bundle in simulation; writes OUTPUT/report.json",
        description="Roll a policy bundle out in the simulator its data came from (N seeded episodes per task), "
        "measure held-out action error, and write report.json, report.md, plots and videos.",
    )
    p.add_argument("--policy", required=True, type=Path, help="policy bundle directory")
    p.add_argument("--output", required=True, type=Path, help="report directory")
    p.add_argument("--episodes", type=int, default=None, help="episodes per task (default: eval.episodes_per_task)")
    p.add_argument("--tasks", nargs="+", default=None, help="task names (default: the training dataset's tasks)")
    p.add_argument("--env", default=None, help="registered env (default: the simulator that recorded the data)")
    p.add_argument("--execute-steps", type=int, default=None, help="actions executed per predicted chunk")
    p.add_argument(
        "--action-mode",
        default=None,
        choices=ActionMode.values(),
        help="chunk: execute --execute-steps actions per chunk; ensemble: ACT's temporal ensembling (a chunk every "
        "step, each step's predictions averaged)",
    )
    p.add_argument(
        "--ensemble-decay",
        type=float,
        default=None,
        help="ensemble weights exp(-decay * age), oldest prediction first (default: eval.ensemble_decay)",
    )
    p.add_argument("--max-steps", type=int, default=None, help="control steps per episode (default: the env's)")
    p.add_argument("--seed", type=int, default=None, help="seed of the first episode of each task")
    p.add_argument("--videos", type=int, default=None, help="videos recorded per task")
    p.add_argument("--runtime", default=None, choices=Runtime.values())
    p.add_argument("--threads", type=int, default=None, help="torch / ONNX Runtime threads")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes rolling tasks out side by side (same episodes, less wall time; default 1)",
    )
    p.add_argument("--dataset", type=Path, default=None, help="dataset for offline metrics (default: the bundle's)")
    p.add_argument(
        "--protocol",
        default=None,
        choices=EvalProtocol.values(),
        help="a published protocol: fixed steps, episodes and seeds, success by difficulty group",
    )
    p.add_argument("--no-offline", action="store_true", help="skip offline metrics on held-out episodes")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the tasks an interrupted evaluation into OUTPUT finished (OUTPUT/tasks/, refused unless the "
        "bundle and settings are the same) and roll out the rest",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from librobot.evaluation.run import evaluate  # lazy (CLI): torch, the simulators; `librobot --help` stays fast

    overrides = {
        "env": args.env,
        "execute_steps": args.execute_steps,
        "action_mode": args.action_mode,
        "ensemble_decay": args.ensemble_decay,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "videos_per_task": args.videos,
        "runtime": args.runtime,
        "num_threads": args.threads,
        "workers": args.workers,
        "offline": False if args.no_offline else None,
        "protocol": args.protocol,
    }
    report = evaluate(
        args.policy,
        args.output,
        episodes=args.episodes,
        tasks=args.tasks,
        overrides=overrides,
        dataset=args.dataset,
        resume=args.resume,
    )
    print_json(
        {
            "report": str(args.output / "report.json"),
            "success_rate": report["success_rate"],
            "per_task": {t: r["success_rate"] for t, r in report["per_task"].items()},
        }
    )
    return 0
