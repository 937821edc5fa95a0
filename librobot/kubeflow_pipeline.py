"""The training pipeline as a Kubeflow Pipelines (KFP v2) pipeline over the same library calls.

Each component runs in the project's ``train`` image (``Dockerfile``) and calls the same
``librobot.pipeline_ops`` functions the ZenML steps call, with the same defaults. Artifacts travel as KFP artifacts: a policy bundle is a ``Model`` whose path is
the bundle directory. Promotion keeps its record in a registry directory on shared storage
(``librobot.promotion.promote_in_registry``), since there is no ZenML server in the cluster.

``librobot kubeflow compile`` writes ``infra/kubeflow/training_pipeline.yaml``; tests run this
pipeline with ``kfp.local.SubprocessRunner`` (the components' code then runs in this venv).
Multi-GPU: ``num_processes > 1`` makes the train component run ``accelerate launch`` over that
many processes (give the task as many GPUs, see docs/pipeline.md). Multi-node: ``num_nodes > 1``
makes it submit the training as a Kubeflow Trainer TrainJob (``librobot.training.trainjob.
train_on_cluster``) on the ReadWriteMany PVC ``shared_pvc``, which the train task mounts at
``trainjob.DEFAULT_MOUNT`` to hand the nodes their inputs and take the bundle back.
"""

# no `from __future__ import annotations`: KFP reads the components' annotations as types
import ast
import os
import re

from kfp import dsl
from kfp.dsl import Artifact, Input, Metrics, Model, Output
from kfp.kubernetes import mount_pvc

from librobot import pipeline_ops as ops
from librobot.training import trainjob

IMAGE = os.environ.get("LIBROBOT_IMAGE", "librobot:train")
# GPUs requested by the train task (compile-time: `librobot kubeflow compile --gpus N`); run with num_processes=N
TRAIN_GPUS = int(os.environ.get("LIBROBOT_TRAIN_GPUS", "0"))
PIPELINE_NAME = "librobot-training"


def _component(func):
    # the image has librobot and kfp installed (requirements.lock): nothing to pip install at run time.
    # KFP runs a lightweight component's body alone in its container: each imports what it uses inside it
    return dsl.component(base_image=IMAGE, install_kfp_package=False)(func)


@_component
def load_dataset(dataset_path: str, dataset: Output[Artifact]):
    """dvc pull when missing; record path + DVC md5."""
    import json

    from librobot import pipeline_ops as ops

    record = ops.load_dataset(dataset_path)
    dataset.metadata.update(record)
    with open(dataset.path, "w") as f:
        json.dump(record, f)


@_component
def resolve_config(dataset: Input[Artifact], experiment: str, overrides: list) -> str:
    """The experiment resolved to YAML on this dataset: its content, not its name, keys the later tasks' cache."""
    import json
    import pathlib

    from librobot import pipeline_ops as ops

    path = json.loads(pathlib.Path(dataset.path).read_text())["path"]
    return ops.resolve_experiment(experiment, overrides, dataset_path=path)


@_component
def validate(dataset: Input[Artifact], config_yaml: str, settings: dict, report: Output[Artifact]):
    """Great Expectations suite; a failure stops the run with the readable report."""
    import json
    import pathlib

    from librobot import pipeline_ops as ops
    from librobot.validation import DatasetValidationError

    path = json.loads(pathlib.Path(dataset.path).read_text())["path"]
    try:
        result = ops.validate_dataset(config_yaml, path, settings)
    except DatasetValidationError as err:
        result = err.report
    with open(report.path, "w") as f:
        json.dump(result.to_dict(), f, default=str)
    if not result.success:
        raise DatasetValidationError(result)


@_component
def normalize(dataset: Input[Artifact], config_yaml: str, normalizer: Output[Artifact]):
    """Normalization stats of what the policy trains on; the train task trains with exactly these."""
    import json
    import pathlib

    from librobot import pipeline_ops as ops

    path = json.loads(pathlib.Path(dataset.path).read_text())["path"]
    ops.normalize(config_yaml, path).save(normalizer.path)


@_component
def train(
    dataset: Input[Artifact],
    normalizer: Input[Artifact],
    config_yaml: str,
    num_processes: int,
    num_nodes: int,
    gpus_per_node: int,
    train_image: str,
    shared_pvc: str,
    bundle: Output[Model],
):
    """Train with the normalize task's stats: in this pod (num_processes > 1: `accelerate launch`, one process
    per GPU), or with num_nodes > 1 as a Kubeflow Trainer TrainJob over that many nodes of train_image."""
    import json
    import pathlib
    import shutil
    import sys
    import tempfile

    from librobot import pipeline_ops as ops
    from librobot.data.normalizer import Normalizer
    from librobot.training.trainjob import train_on_cluster

    record = json.loads(pathlib.Path(dataset.path).read_text())
    stats = Normalizer.load(normalizer.path)
    if num_nodes == 1:
        work = tempfile.mkdtemp(prefix="train-")
        bundle_dir = ops.train(config_yaml, record["path"], stats, f"{work}/run", False, num_processes)
    else:  # num_nodes < 1 is refused there, by name
        bundle_dir = train_on_cluster(
            config_yaml, stats, train_image, num_nodes, gpus_per_node, shared_pvc, num_processes=num_processes
        )
    # train/ holds checkpoints and logs, not part of the bundle
    shutil.copytree(bundle_dir, bundle.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("train"))
    bundle.metadata["dataset_md5"] = record["md5"]
    print(f"bundle: {bundle.path}", file=sys.stderr)


@_component
def export(bundle: Input[Model], exported: Output[Model]):
    """ONNX fp32 with its parity gate (fails the run when ONNX Runtime disagrees with torch)."""
    import shutil

    from librobot import pipeline_ops as ops

    shutil.copytree(bundle.path, exported.path, dirs_exist_ok=True)
    exported.metadata["fp32_parity"] = ops.export(exported.path)["fp32"]


@_component
def quantize(bundle: Input[Model], mode: str, quantized: Output[Model], gate: Output[Artifact]):
    """int8/int4 under its gates; a rejected graph is recorded and the bundle serves fp32 (never fails the run)."""
    import json
    import shutil

    from librobot import pipeline_ops as ops

    shutil.copytree(bundle.path, quantized.path, dirs_exist_ok=True)
    entry = ops.quantize(quantized.path, mode)  # "" (KFP strings cannot be null): no quantization
    with open(gate.path, "w") as f:
        json.dump(entry, f, default=str)


@_component
def evaluate(
    bundle: Input[Model],
    episodes_per_task: int,
    settings: dict,
    evaluated: Output[Model],
    metrics: Output[Metrics],
    report: Output[Artifact],
):
    """Closed-loop rollouts in the simulator the data came from; the bundle records the result."""
    import json
    import shutil
    import tempfile

    from librobot import pipeline_ops as ops

    shutil.copytree(bundle.path, evaluated.path, dirs_exist_ok=True)
    output = tempfile.mkdtemp(prefix="eval-")
    result = ops.evaluate(evaluated.path, output, episodes_per_task, settings)
    metrics.log_metric("success_rate", float(result["success_rate"]))
    for task, entry in result.get("per_task", {}).items():
        metrics.log_metric(f"success_rate/{task}", float(entry["success_rate"]))
    with open(report.path, "w") as f:
        json.dump(result, f, default=str)


@_component
def promote(
    bundle: Input[Model],
    report: Input[Artifact],
    gate: Input[Artifact],
    registry: str,
    version: str,
    policy: dict,
    decision: Output[Artifact],
) -> bool:
    """Promote over the registry's production version when better by the margin; record why.

    The fp32 policy is judged; quantization only adds a note (the served runtime, why int8 was rejected).
    """
    import json
    import pathlib

    from librobot import pipeline_ops as ops
    from librobot.promotion import promote_in_registry

    success = float(json.loads(pathlib.Path(report.path).read_text())["success_rate"])
    notes = ops.quantization_notes(json.loads(pathlib.Path(gate.path).read_text()))
    result = promote_in_registry(registry, bundle.path, version, success, ops.promotion_policy(policy), notes=notes)
    print(result.reason)
    with open(decision.path, "w") as f:
        json.dump({**result.to_dict(), **notes}, f)
    return result.promoted


@_component
def package(bundle: Input[Model], name: str, tag: Output[Artifact]):
    """BentoML model from the promoted bundle (BENTOML_HOME: the service's model store)."""
    from librobot import pipeline_ops as ops

    value = ops.package(bundle.path, name)
    tag.metadata["tag"] = value
    with open(tag.path, "w") as f:
        f.write(value)


@dsl.pipeline(name=PIPELINE_NAME, description="LibroBot: validate, train, evaluate, export, promote, package")
def training_pipeline(
    experiment: str = ops.DEFAULT_EXPERIMENT,
    overrides: list = [],  # noqa: B006  (KFP pipeline parameters are declared by their defaults)
    dataset_path: str = ops.DEFAULT_DATASET,
    validation: dict = ops.DEFAULT_VALIDATION,  # noqa: B006
    episodes_per_task: int = ops.DEFAULT_EPISODES_PER_TASK,
    evaluation: dict = {},  # noqa: B006  (eval overrides: max_steps, tasks, runtime, ...)
    quantize_mode: str = ops.DEFAULT_QUANTIZE_MODE,
    promotion: dict = ops.DEFAULT_PROMOTION,  # noqa: B006
    registry: str = f"{trainjob.DEFAULT_MOUNT}/registry",  # on the shared volume the promote task mounts
    bento_name: str = ops.DEFAULT_BENTO_NAME,
    num_processes: int = 1,
    num_nodes: int = 1,  # > 1: a Kubeflow Trainer TrainJob (docs/pipeline.md)
    gpus_per_node: int = 0,  # for num_nodes > 1; num_processes is for one pod
    train_image: str = IMAGE,  # what the TrainJob's nodes run (e.g. the train-cuda image)
    shared_pvc: str = trainjob.SHARED_VOLUME,  # ReadWriteMany, mounted by the train task and every node
):
    data = load_dataset(dataset_path=dataset_path)
    config = resolve_config(dataset=data.output, experiment=experiment, overrides=overrides)
    checked = validate(dataset=data.output, config_yaml=config.output, settings=validation)
    stats = normalize(dataset=data.output, config_yaml=config.output)
    trained = train(
        dataset=data.output,
        normalizer=stats.output,
        config_yaml=config.output,
        num_processes=num_processes,
        num_nodes=num_nodes,
        gpus_per_node=gpus_per_node,
        train_image=train_image,
        shared_pvc=shared_pvc,
    ).after(checked)
    mount_pvc(trained, pvc_name=shared_pvc, mount_path=trainjob.DEFAULT_MOUNT)  # inputs to and bundle from the nodes
    if TRAIN_GPUS:
        trained.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(TRAIN_GPUS)
    exported = export(bundle=trained.output)
    quantized = quantize(bundle=exported.output, mode=quantize_mode)
    evaluated = evaluate(
        bundle=quantized.outputs["quantized"], episodes_per_task=episodes_per_task, settings=evaluation
    )
    decided = promote(
        bundle=evaluated.outputs["evaluated"],
        report=evaluated.outputs["report"],
        gate=quantized.outputs["gate"],
        registry=registry,
        version=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        policy=promotion,
    )
    mount_pvc(decided, pvc_name=shared_pvc, mount_path=trainjob.DEFAULT_MOUNT)  # the registry's default home
    for task in (evaluated, decided):
        task.set_caching_options(False)  # production changes between runs; rollouts are cheap to trust fresh
    with dsl.If(decided.outputs["Output"] == True):  # noqa: E712  (a KFP condition, not a Python comparison)
        package(bundle=evaluated.outputs["evaluated"], name=bento_name).set_caching_options(False)


def compile_pipeline(path: str = "infra/kubeflow/training_pipeline.yaml") -> str:
    """Compile to ``path``, byte for byte the same on every run (the committed file is checked against it)."""
    from kfp import compiler

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    compiler.Compiler().compile(training_pipeline, package_path=path)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(stable_header(text))
    return path


_DEFAULT_COMMENT = re.compile(r"^(#    \w+: \w+ \[Default: )(.*)(\])$")


def stable_header(text: str) -> str:
    """The spec with its header's dict defaults in sorted key order.

    KFP writes the body with sorted keys, but renders each default in the ``# Inputs:`` header with
    ``str()`` of a protobuf Struct, whose key order changes from process to process (string hashing).
    """
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            break  # the header ends where the YAML begins
        match = _DEFAULT_COMMENT.match(line.rstrip("\n"))
        if match and match.group(2).startswith(("{", "[")):
            head, value, tail = match.groups()
            lines[i] = f"{head}{_sorted(ast.literal_eval(value))!s}{tail}\n"
    return "".join(lines)


def _sorted(value):
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
