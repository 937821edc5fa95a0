"""Contract: `librobot kubeflow train` builds the TrainJob the kubeflow SDK sends, valid against the
Kubeflow Trainer API types, whose nodes run the same `librobot train` command line as a local run."""

from __future__ import annotations

import contextlib
import io
import shlex

import pytest
import yaml
from kubeflow_trainer_api import models
from pydantic import ValidationError

from librobot.cli import build_parser, main
from librobot.training.trainjob import TrainJobSpec, render


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
