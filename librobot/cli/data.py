"""``librobot data``: generate, info, check, import-hdf5, import-rlds, convert-v21, md5."""

from __future__ import annotations

import argparse
import json

from librobot.cli import print_json
from librobot.data.versioning import dataset_md5

# lazy imports below (CLI): the data and sim modules pull numpy, omegaconf and pyarrow; `librobot --help` stays fast


def _generate(args: argparse.Namespace) -> int:
    from librobot.data.video import check_pix_fmt, pick_codec
    from librobot.sim.action_noise import ActionNoise
    from librobot.sim.record import RecordJob, record_dataset

    check_pix_fmt(pick_codec(args.codec), args.pix_fmt)  # before a single episode is recorded
    noise = ActionNoise.parse(args.action_noise, args.noise_correlation) if args.action_noise else None
    kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    if args.env in ("metaworld", "metaworld_v3"):
        from librobot.sim.metaworld_env import expand_tasks

        tasks = expand_tasks(args.tasks or "default")
        counts = _task_episodes(args.task_episodes, tasks)
        scales = _noise_scales(args.noise_tasks, tasks, noise)
        jobs = [
            RecordJob(args.env, {**kwargs, "task": t}, episodes=counts.get(t), noise_scale=scales[t]) for t in tasks
        ]
    elif args.task_episodes or args.noise_tasks:
        flag = "--task-episodes" if args.task_episodes else "--noise-tasks"
        raise SystemExit(f"{flag}: env {args.env!r} records one task; use --episodes / --action-noise")
    else:
        jobs = [RecordJob(args.env, kwargs)]
    result = record_dataset(
        args.out,
        jobs,
        episodes=args.episodes,
        seed=args.seed,
        keep_failed=args.keep_failed,
        overwrite=args.overwrite,
        codec=args.codec,
        crf=args.crf,
        pix_fmt=args.pix_fmt,
        action_noise=noise,
        workers=args.workers,
    )
    print(
        f"wrote {result.episodes} episodes, {result.frames} frames to {result.path} "
        f"({result.attempts} attempts; success rate per task {result.success_rate})"
    )
    return 0


def _task_items(spec: str | None, tasks: list[str], flag: str):
    """``TASK[=VALUE],...`` -> (item, task, value or None) each, the task checked among the recorded ones."""
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        name, sep, value = (part.strip() for part in item.partition("="))
        if name not in tasks:
            raise SystemExit(f"{flag}: {name!r} is not among the recorded tasks {tasks}")
        yield item, name, value if sep else None


def _noise_scales(spec: str | None, tasks: list[str], noise) -> dict[str, float]:
    """``reach-v3,push-v3=0.3`` -> {task: scale of the --action-noise sigmas}; unnamed tasks record clean."""
    if spec is None:
        return dict.fromkeys(tasks, 1.0)
    if noise is None:
        raise SystemExit("--noise-tasks: names the tasks --action-noise applies to; give --action-noise too")
    scales = dict.fromkeys(tasks, 0.0)
    for item, name, value in _task_items(spec, tasks, "--noise-tasks"):
        try:
            scale = 1.0 if value is None else float(value)
        except ValueError:
            scale = -1.0
        if not scale >= 0:  # also NaN
            raise SystemExit(f"--noise-tasks: {item!r} needs TASK or TASK=SCALE with a number SCALE >= 0")
        scales[name] = scale
    return scales


def _task_episodes(spec: str | None, tasks: list[str]) -> dict[str, int]:
    """``reach-v3=200,push-v3=50`` -> {task: episodes}; names must be among the recorded tasks."""
    counts: dict[str, int] = {}
    for item, name, value in _task_items(spec, tasks, "--task-episodes"):
        if value is None or not value.isdigit() or int(value) < 1:
            raise SystemExit(f"--task-episodes: {item!r} needs TASK=N with N >= 1")
        counts[name] = int(value)
    return counts


def _info(args: argparse.Namespace) -> int:
    from librobot.data.info import dataset_summary

    print_json(dataset_summary(args.path))
    return 0


def _check(args: argparse.Namespace) -> int:
    from librobot.data.checks import check_dataset

    problems = check_dataset(args.path, expected_fps=args.fps)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {args.path}")
    return 1 if problems else 0


def _import_hdf5(args: argparse.Namespace) -> int:
    from librobot.data.hdf5_import import import_hdf5

    path = import_hdf5(args.files, args.out, fps=args.fps, task=args.task, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def _import_rlds(args: argparse.Namespace) -> int:
    from librobot.data.rlds_import import import_rlds

    path = import_rlds(
        args.src,
        args.out,
        fps=args.fps,
        split=args.split,
        cameras=args.camera,
        state=args.state,
        action=args.action,
        instruction=args.instruction,
        task=args.task,
        robot_type=args.robot_type,
        max_episodes=args.max_episodes,
        overwrite=args.overwrite,
    )
    print(f"wrote {path}")
    return 0


def _convert_v21(args: argparse.Namespace) -> int:
    from librobot.data.convert_v21 import convert_v21

    print(f"wrote {convert_v21(args.src, args.out, overwrite=args.overwrite)}")
    return 0


def _md5(args: argparse.Namespace) -> int:
    print(dataset_md5(args.path))
    return 0


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="datasets: record, inspect, check, import")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("generate", help="record scripted-expert episodes from a simulator into a LeRobot v3 dataset")
    p.add_argument("--env", default="metaworld", help="registered env: metaworld, so101_pick_place, ...")
    p.add_argument("--tasks", default=None, help="MetaWorld: mt10, mt50, default, or comma-separated task names")
    p.add_argument("--episodes", type=int, default=10, help="successful episodes per task")
    p.add_argument(
        "--task-episodes",
        default=None,
        metavar="TASK=N,...",
        help="MetaWorld: other episode counts for some tasks, e.g. reach-v3=200 (the rest keep --episodes)",
    )
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-kwargs", default=None, help="JSON kwargs for the env, e.g. '{\"image_size\": 96}'")
    p.add_argument("--keep-failed", action="store_true", help="also keep episodes the expert did not finish")
    p.add_argument(
        "--action-noise",
        default=None,
        metavar="NAME=SIGMA,...",
        help="DART: execute the expert's action plus Gaussian noise (sigma as a fraction of each named action's "
        "half-range) while storing the clean action, e.g. throttle=0.2,steering=0.3",
    )
    p.add_argument(
        "--noise-correlation", type=float, default=0.0, help="AR(1) coefficient of the noise per step (0: white)"
    )
    p.add_argument(
        "--noise-tasks",
        default=None,
        metavar="TASK[=SCALE],...",
        help="MetaWorld: the tasks --action-noise applies to, its sigmas times SCALE (default 1), e.g. "
        "reach-v3,push-v3=0.3; the others record clean (default: every task, SCALE 1)",
    )
    p.add_argument("--codec", default="auto", help="auto (AV1 if available, else H.264), libsvtav1, libx264")
    p.add_argument(
        "--crf", type=int, default=30, help="video quality: 0 is lossless with libx264, 30 is LeRobot's default"
    )
    p.add_argument(
        "--pix-fmt",
        default="yuv420p",
        choices=["yuv420p", "yuv444p"],
        help="yuv444p keeps colour at full resolution (libx264 only): small coloured targets stay their colour",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes recording tasks side by side (the same dataset, less wall time; default 1)",
    )
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_generate)

    p = sub.add_parser("info", help="summarize a dataset: episodes, frames, tasks, features, fps, size")
    p.add_argument("path")
    p.set_defaults(func=_info)

    p = sub.add_parser("check", help="report bad input: missing files, shapes, NaN/inf, timestamps, fps")
    p.add_argument("path")
    p.add_argument("--fps", type=float, default=None, help="the fps the dataset must have")
    p.set_defaults(func=_check)

    p = sub.add_parser("import-hdf5", help="import ALOHA / robomimic style HDF5 files into a LeRobot v3 dataset")
    p.add_argument("files", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--fps", type=float, required=True)
    p.add_argument("--task", default=None, help="instruction for files that carry none")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_import_hdf5)

    p = sub.add_parser(
        "import-rlds", help="import an RLDS / TFDS dataset (Open X-Embodiment, DROID, Bridge) into LeRobot v3"
    )
    p.add_argument("src", help="the RLDS dataset's folder (holding features.json, or its one version folder)")
    p.add_argument("--out", required=True)
    p.add_argument("--fps", type=float, default=10.0, help="control rate (RLDS does not record it; default 10)")
    p.add_argument("--split", default="train")
    p.add_argument("--camera", action="append", help="steps/observation image key, repeatable (default: all)")
    p.add_argument("--state", action="append", help="observation vector key, repeatable, concatenated (default: all)")
    p.add_argument("--action", default="action")
    p.add_argument("--instruction", default=None, help="default: language_instruction")
    p.add_argument("--task", default=None, help="instruction for episodes that carry none")
    p.add_argument("--robot-type", default=None, help="default: the dataset's name")
    p.add_argument("--max-episodes", type=int, default=None)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_import_rlds)

    p = sub.add_parser("convert-v21", help="convert a LeRobot v2.1 dataset (a file per episode) to v3, files copied")
    p.add_argument("src")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_convert_v21)

    p = sub.add_parser("md5", help="the dataset's DVC md5 (from its .dvc file, else computed)")
    p.add_argument("path")
    p.set_defaults(func=_md5)
