"""Contract: `librobot kubeflow train` builds the TrainJob the kubeflow SDK sends, valid against the
Kubeflow Trainer API types, whose nodes run the same `librobot train` command line as a local run."""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

import pytest
import yaml
from kubeflow_trainer_api import models
from pydantic import ValidationError

from librobot import pipeline_ops as ops
from librobot.cli import build_parser, main
from librobot.config import load_config
from librobot.data.normalizer import Normalizer
from librobot.training.trainjob import TrainJobSpec, prepare_cluster_run, render


def _dry_run(*args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["kubeflow", "train", "--image", "registry.example/librobot:train-cuda", "--dry-run", *args]) == 0
    return yaml.safe_load(out.getvalue())


def _node_script(job: dict) -> str:
    command = job["spec"]["trainer"]["command"]
    assert command[:2] == ["bash", "-c"]
    return command[2]


def test_dry_run_prints_a_trainjob_the_trainer_api_accepts():
    job = _dry_run(
        "--nodes", "3", "--gpus-per-node", "4", "--memory-per-node", "64Gi", "--name", "vla-run",
        "--env", "MLFLOW_TRACKING_URI=http://mlflow:5000", "training.max_steps=100",
    )  # fmt: skip
    parsed = models.TrainerV1alpha1TrainJob.from_dict(job)  # the generated API types validate every field
    assert parsed.to_dict() == job  # and nothing in the printed spec was dropped as unknown
    assert (job["apiVersion"], job["kind"], job["metadata"]["name"]) == (
        "trainer.kubeflow.org/v1alpha1",
        "TrainJob",
        "vla-run",
    )
    spec = parsed.spec
    assert (spec.runtime_ref.name, spec.runtime_ref.kind) == ("torch-distributed", "ClusterTrainingRuntime")
    trainer = spec.trainer
    assert trainer.image == "registry.example/librobot:train-cuda" and trainer.num_nodes == 3
    limits = trainer.resources_per_node.to_dict()["limits"]
    assert limits == {"nvidia.com/gpu": "4", "memory": "64Gi"}
    assert [(e.name, e.value) for e in trainer.env] == [("MLFLOW_TRACKING_URI", "http://mlflow:5000")]
    # every node mounts the shared volume where rank 0 writes the bundle
    (patch,) = job["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = node["template"]["spec"]["template"]["spec"]
    assert node["name"] == "node" and pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "librobot-shared"}
    assert pod["containers"][0]["volumeMounts"] == [{"mountPath": "/mnt/librobot", "name": "shared"}]


def test_nodes_run_librobot_train_under_torchrun_with_the_local_command_line():
    job = _dry_run("--nodes", "2", "--gpus-per-node", "8", "--name", "vla-run", "--resume", "training.max_steps=100")
    pull, _, launch = _node_script(job).partition(" && ")
    assert shlex.split(pull) == [
        "python", "-c", 'from librobot.validation.presence import ensure_dataset; ensure_dataset("data/default")',
    ]  # fmt: skip
    words = shlex.split(launch)
    assert words[:6] == ["exec", "torchrun", "--nproc-per-node", "8", "--module", "librobot.cli"]
    args = build_parser().parse_args(words[6:])  # the CLI the pods run accepts exactly these arguments
    assert args.command == "train" and args.config == "experiment/default" and args.resume
    assert str(args.output) == "/mnt/librobot/runs/vla-run" and args.overrides == ["training.max_steps=100"]


def test_accelerate_config_makes_each_node_start_accelerate_launch():
    job = _dry_run("--nodes", "2", "--gpus-per-node", "8", "--accelerate-config", "fsdp", "--no-pull",
                   "--pvc", "", "--output", "/shared/runs/x", "training.ema_decay=null")  # fmt: skip
    script = _node_script(job)
    assert " && " not in script  # --no-pull
    words = shlex.split(script)
    assert words[:5] == ["exec", "accelerate", "launch", "--config_file", "configs/accelerate/fsdp.yaml"]
    flags = dict(zip(words[5:13:2], words[6:13:2], strict=True))
    assert flags == {"--num_machines": "2", "--num_processes": "16", "--machine_rank": "$PET_NODE_RANK",
                     "--main_process_ip": "$PET_MASTER_ADDR"}  # fmt: skip
    assert '--main_process_port "$PET_MASTER_PORT"' in script  # expanded by bash in the pod, not here
    assert "runtimePatches" not in job["spec"]  # no PVC: the output is on storage the nodes share already


def test_bad_requests_are_refused_before_anything_is_submitted():
    with pytest.raises(ValueError, match="num_nodes must be >= 1"):
        TrainJobSpec(image="x", num_nodes=0)
    with pytest.raises(ValueError, match="name 'Bad_Name' must be a Kubernetes name"):
        TrainJobSpec(image="x", name="Bad_Name")
    with pytest.raises(ValueError, match="image"):
        TrainJobSpec(image="")
    with pytest.raises(ValueError, match="give output"):
        TrainJobSpec(image="x", pvc=None)
    with pytest.raises(ValueError, match="--accelerate-config 'zero9'"):
        render(TrainJobSpec(image="x", accelerate_config="zero9"))
    for args, message in [
        (["--env", "NOVALUE"], "--env expects KEY=VALUE, got 'NOVALUE'"),
        (["training.max_stepz=3"], "max_stepz"),  # the config is composed here, not in the pods
        (["--nodes", "0"], "num_nodes must be >= 1"),
    ]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["kubeflow", "train", "--image", "x", "--dry-run", *args])
        assert code != 0 and message in err.getvalue() and not out.getvalue(), (args, err.getvalue())


def test_the_api_types_reject_a_malformed_trainjob():
    job = render(TrainJobSpec(image="x", name="ok"))
    job["spec"]["trainer"]["numNodes"] = "two"
    with pytest.raises(ValidationError, match="numNodes"):
        models.TrainerV1alpha1TrainJob.from_dict(job)


IMAGE_DATA = "/app/data/default"  # where the pipeline's load_dataset task finds the dataset inside the image
STATS = Normalizer(
    {"action": {"mode": "MEAN_STD", "names": ["dx", "dy"], "stats": {"mean": [0.1, -0.2], "std": [2, 3]}}}
)


def _resolved(dataset: str = IMAGE_DATA) -> str:
    """The resolve-config task's output: the experiment as resolved YAML on the pipeline's dataset."""
    return ops.resolve_experiment("experiment/default", ["training.max_steps=7"], dataset_path=dataset)


def test_the_pipelines_train_task_on_two_nodes_trains_its_resolved_config_with_its_stats(tmp_path):
    """The TrainJob the KFP train task submits for num_nodes=2: `librobot train` on exactly the resolved config
    and the normalize task's stats, both on the shared volume, writing the bundle there for the task to copy."""
    shared = tmp_path / "mnt"  # the shared volume, as the train task's pod and every node mount it
    config_yaml = _resolved()
    spec, data = prepare_cluster_run(config_yaml, STATS, "registry.example/librobot:train-cuda", 2, 4,
                                     mount_path=str(shared))  # fmt: skip
    job = render(spec, data)
    assert job["metadata"]["labels"]["librobot/experiment"] == "default"
    trainer = models.TrainerV1alpha1TrainJob.from_dict(job).spec.trainer
    assert trainer.num_nodes == 2 and trainer.image == "registry.example/librobot:train-cuda"
    pull, _, launch = _node_script(job).partition(" && ")
    assert shlex.split(pull)[-1].endswith(f'ensure_dataset("{IMAGE_DATA}")')  # the image holds only its DVC pointer
    words = shlex.split(launch)
    assert words[:6] == ["exec", "torchrun", "--nproc-per-node", "4", "--module", "librobot.cli"]
    args = build_parser().parse_args(words[6:])
    runs = shared / "runs"
    assert args.command == "train" and args.output == runs / spec.name and not args.resume and args.overrides == []
    assert args.config == f"{runs}/{spec.name}.config.yaml" and Path(args.config).read_text() == config_yaml
    assert load_config(args.config).training.max_steps == 7  # `librobot train --config` reads it as resolved
    assert args.normalizer == runs / f"{spec.name}.normalizer.json" and Normalizer.load(args.normalizer) == STATS
    (patch,) = job["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = node["template"]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "librobot-shared"}
    assert pod["containers"][0]["volumeMounts"] == [{"mountPath": str(shared), "name": "shared"}]


def test_a_dataset_on_the_shared_volume_is_read_there(tmp_path):
    shared = tmp_path / "mnt"
    spec, data = prepare_cluster_run(_resolved(f"{shared}/datasets/reach"), STATS, "x", 3, mount_path=str(shared))
    assert data is None and " && " not in _node_script(render(spec, data))


def test_the_train_task_refuses_bad_cluster_settings_before_writing_anything(tmp_path):
    config_yaml = _resolved()
    for settings, message in [
        ({"num_nodes": 0}, "num_nodes must be >= 1, got 0"),
        ({"num_nodes": 2, "pvc": ""}, "shared_pvc: training on several nodes needs a ReadWriteMany PVC"),
        ({"num_nodes": 2, "num_processes": 4}, "num_processes=4 starts processes inside the train task's pod"),
        ({"num_nodes": 2, "config_yaml": config_yaml.replace("max_steps:", "max_stepz:")}, "max_stepz"),
    ]:
        args = {"config_yaml": config_yaml, "normalizer": STATS, "image": "x", "mount_path": str(tmp_path), **settings}
        with pytest.raises(ValueError, match=message):
            prepare_cluster_run(**args)
    assert not list(tmp_path.iterdir())
