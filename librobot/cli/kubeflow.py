"""``librobot kubeflow compile|schedule|train``: the KFP v2 training pipeline, and multi-node training.

``compile`` writes ``infra/kubeflow/training_pipeline.yaml`` from ``librobot/kubeflow_pipeline.py``.
``schedule`` creates a recurring run on a Kubeflow Pipelines server (what the Kubeflow UI lists
under Recurring Runs), with the pipeline's parameters taken from a pipeline config
(``configs/pipelines/*.yaml``, the same files the ZenML pipeline runs with).
``train`` runs ``librobot train`` on N nodes as a Kubeflow Trainer TrainJob (librobot/training/trainjob.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_PACKAGE = "infra/kubeflow/training_pipeline.yaml"


def _pipelines_module():
    import librobot.kubeflow_pipeline  # lazy (CLI): kfp and the pipeline's library; `librobot --help` stays fast

    return librobot.kubeflow_pipeline


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


def _cmd_train(args: argparse.Namespace) -> int:
    import yaml

    # lazy (CLI): both pull omegaconf; `librobot --help` stays fast
    from librobot.config import load_config
    from librobot.training import trainjob

    cfg = load_config(args.config, args.overrides)  # a bad override fails here, not in the pods
    env = dict(_key_value(item, "--env") for item in args.env)
    spec_args = dict(
        image=args.image, num_nodes=args.nodes, config=args.config, overrides=tuple(args.overrides),
        gpus_per_node=args.gpus_per_node, cpu_per_node=args.cpu_per_node, memory_per_node=args.memory_per_node,
        accelerate_config=args.accelerate_config, runtime=args.runtime, pvc=args.pvc or None,
        mount_path=args.mount_path, output=args.output, resume=args.resume, env=env,
    )  # fmt: skip
    if args.name:
        spec_args["name"] = args.name
    spec = trainjob.TrainJobSpec(**spec_args)
    data = None if args.no_pull else trainjob.dataset_to_pull(cfg)
    if args.dry_run:
        print(yaml.safe_dump(trainjob.render(spec, data, args.namespace or "default"), sort_keys=False), end="")
        return 0
    from kubeflow.common.types import KubernetesBackendConfig
    from kubeflow.trainer import TrainerClient

    client = TrainerClient(KubernetesBackendConfig(namespace=args.namespace, context=args.context))
    name = trainjob.submit(client, spec, data)
    where = f"PVC {spec.pvc}, {spec.bundle_dir}" if spec.pvc else spec.bundle_dir
    print(f"TrainJob {name}: {spec.num_nodes} nodes of {spec.image}; bundle -> {where}", flush=True)
    if args.no_wait:
        return 0
    trainjob.follow(client, name, timeout_s=args.timeout, echo=lambda line: print(line, flush=True))
    print(f"TrainJob {name} complete; policy bundle: {where}")
    return 0


def _key_value(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
    return key, value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kubeflow", help="compile the KFP v2 pipeline, schedule recurring training, or train on N nodes"
    )
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

    p = sub.add_parser(
        "train",
        help="run `librobot train` on N nodes as a Kubeflow Trainer TrainJob (torch-distributed runtime)",
        description="Submit `librobot train` as a Kubeflow Trainer v2 TrainJob through the kubeflow SDK, stream "
        "node 0's log and wait; the bundle lands on the shared volume. Uses the current kube-config context.",
    )
    p.add_argument("--image", required=True, help="image every node runs, e.g. registry/librobot:train-cuda")
    p.add_argument("--nodes", type=int, default=2, help="training nodes (pods)")
    p.add_argument("--gpus-per-node", type=int, default=0, help="nvidia.com/gpu per node; one process per GPU")
    p.add_argument("--cpu-per-node", default=None, help='CPU request and limit per node, e.g. "16"')
    p.add_argument("--memory-per-node", default=None, help='memory per node, e.g. "128Gi"')
    p.add_argument("--config", default="experiment/default", help="experiment/<name> (resolved in the image)")
    p.add_argument("--accelerate-config", default=None, metavar="NAME", help="configs/accelerate/NAME.yaml, e.g. fsdp")
    p.add_argument("--pvc", default="librobot-shared", help='ReadWriteMany PVC every node mounts ("" for none)')
    p.add_argument("--mount-path", default="/mnt/librobot", help="where the PVC is mounted")
    p.add_argument("--output", default=None, help="bundle directory in the pods (default MOUNT/runs/NAME)")
    p.add_argument("--name", default=None, help="TrainJob name (default librobot-<random>)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/train")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="e.g. MLFLOW_TRACKING_URI=...")
    p.add_argument("--runtime", default="torch-distributed", help="the ClusterTrainingRuntime to run on")
    p.add_argument("--namespace", default=None, help="default: the kube-config context's")
    p.add_argument("--context", default=None, help="kube-config context")
    p.add_argument("--no-pull", action="store_true", help="skip `dvc pull` of a relative data.path on each node")
    p.add_argument("--no-wait", action="store_true", help="submit and return")
    p.add_argument("--timeout", type=int, default=24 * 3600, help="seconds to wait for completion")
    p.add_argument("--dry-run", action="store_true", help="print the TrainJob (YAML) instead of creating it")
    p.add_argument("overrides", nargs="*", help="Hydra overrides passed to `librobot train`")
    p.set_defaults(func=_cmd_train)
