"""``librobot kubeflow compile`` and ``librobot kubeflow schedule``: the KFP v2 training pipeline.

``compile`` writes ``infra/kubeflow/training_pipeline.yaml`` from ``pipelines/kubeflow.py``.
``schedule`` creates a recurring run on a Kubeflow Pipelines server (what the Kubeflow UI lists
under Recurring Runs), with the pipeline's parameters taken from a pipeline config
(``configs/pipelines/*.yaml``, the same files the ZenML pipeline runs with).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_PACKAGE = "infra/kubeflow/training_pipeline.yaml"


def _pipelines_module():
    """``pipelines/`` lives beside ``librobot/`` in the checkout, not in the installed package."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "pipelines" / "kubeflow.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            import pipelines.kubeflow

            return pipelines.kubeflow
    raise FileNotFoundError("pipelines/kubeflow.py not found: run from a LibroBot checkout")


def schedule_parameters(config_path: str | Path, registry: str | None = None) -> dict[str, Any]:
    """The KFP pipeline's arguments from a pipeline config's ``parameters:`` (unknown keys are errors)."""
    from omegaconf import OmegaConf

    module = _pipelines_module()
    known = set(_pipeline_parameters(module))
    config = OmegaConf.to_container(OmegaConf.load(config_path), resolve=True) or {}
    params = dict(config.get("parameters") or {})
    params.pop("output_root", None)  # a local-run setting: the cluster keeps outputs in KFP artifacts
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{config_path}: parameters {unknown} are not inputs of the Kubeflow pipeline; it takes {sorted(known)}"
        )
    if params.get("quantize_mode") is None and "quantize_mode" in params:
        params["quantize_mode"] = ""  # KFP strings cannot be null: "" means no quantization
    if registry:
        params["registry"] = registry
    return params


def _pipeline_parameters(module) -> list[str]:
    spec = module.training_pipeline.pipeline_spec
    return list(spec.root.input_definitions.parameters.keys())


def _cmd_compile(args: argparse.Namespace) -> int:
    import os

    if args.image:
        os.environ["LIBROBOT_IMAGE"] = args.image
    os.environ["LIBROBOT_TRAIN_GPUS"] = str(args.gpus)
    import importlib

    # the image and GPU count are baked into the components when the module loads: load it afresh
    path = importlib.reload(_pipelines_module()).compile_pipeline(args.output)
    print(path)
    return 0


def _cmd_schedule(args: argparse.Namespace) -> int:
    params = schedule_parameters(args.config, args.registry)
    request = {
        "job_name": args.name,
        "cron_expression": args.cron,
        "experiment": args.experiment,
        "pipeline_package_path": args.package,
        "params": params,
        "max_concurrency": 1,
        "no_catchup": True,
    }
    if args.dry_run:
        print(json.dumps(request, indent=2))
        return 0
    import kfp

    client = kfp.Client(host=args.host, namespace=args.namespace)
    experiment = client.create_experiment(name=args.experiment, namespace=args.namespace)
    run = client.create_recurring_run(
        experiment_id=experiment.experiment_id,
        job_name=args.name,
        cron_expression=args.cron,
        pipeline_package_path=args.package,
        params=params,
        max_concurrency=1,
        no_catchup=True,
        enabled=True,
    )
    print(f"recurring run {run.recurring_run_id} ({args.name}, cron {args.cron!r}) in experiment {args.experiment}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kubeflow", help="compile the KFP v2 pipeline or schedule recurring training")
    sub = parser.add_subparsers(dest="kubeflow_command", required=True, metavar="ACTION")

    p = sub.add_parser("compile", help=f"write the pipeline spec ({DEFAULT_PACKAGE})")
    p.add_argument("--output", default=DEFAULT_PACKAGE)
    p.add_argument("--image", default=None, help="container image of the components (default: librobot:train)")
    p.add_argument("--gpus", type=int, default=0, help="GPUs for the train task (then run with num_processes=N)")
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser("schedule", help="create a recurring run on a Kubeflow Pipelines server")
    p.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://localhost:8080")
    p.add_argument("--cron", required=True, help='KFP cron with seconds: "0 0 3 * * *" = daily at 03:00')
    p.add_argument("--config", default="configs/pipelines/default.yaml", help="pipeline config whose parameters to use")
    p.add_argument("--package", default=DEFAULT_PACKAGE, help="compiled pipeline YAML")
    p.add_argument("--name", default="librobot-retraining")
    p.add_argument("--experiment", default="librobot")
    p.add_argument("--namespace", default=None)
    p.add_argument("--registry", default=None, help="shared directory where promotion keeps production.json")
    p.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    p.set_defaults(func=_cmd_schedule)
