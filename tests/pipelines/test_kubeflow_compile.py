"""infra/kubeflow/training_pipeline.yaml is what librobot/kubeflow_pipeline.py compiles to, and schedules take config parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from librobot.cli import main
from librobot.training.trainjob import DEFAULT_MOUNT, SHARED_VOLUME

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "infra" / "kubeflow" / "training_pipeline.yaml"
STEPS = {
    "load-dataset",
    "resolve-config",
    "validate",
    "normalize",
    "train",
    "export",
    "quantize",
    "evaluate",
    "promote",
    "package",
}


def _documents(path: Path) -> tuple[dict, dict]:
    """The pipeline spec and the platform spec (KFP writes the second once a task mounts a volume)."""
    pipeline, platform = yaml.safe_load_all(path.read_text())
    return pipeline, platform


def test_committed_pipeline_spec_is_up_to_date(tmp_path, monkeypatch):
    """Byte for byte, comments included: a compile in another process (another string-hash seed) too."""
    monkeypatch.delenv("LIBROBOT_IMAGE", raising=False)
    fresh = tmp_path / "training_pipeline.yaml"
    assert main(["kubeflow", "compile", "--output", str(fresh)]) == 0
    again = tmp_path / "again.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("LIBROBOT_IMAGE", "LIBROBOT_TRAIN_GPUS")}
    command = [sys.executable, "-m", "librobot.cli", "kubeflow", "compile", "--output", str(again)]
    for seed in ("1", "2"):  # protobuf Struct key order follows the process's string hashing
        subprocess.run(command, cwd=ROOT, env={**env, "PYTHONHASHSEED": seed}, check=True, capture_output=True)
        assert again.read_bytes() == fresh.read_bytes(), "`librobot kubeflow compile` is not byte-stable"
    assert fresh.read_bytes() == COMMITTED.read_bytes(), (
        "infra/kubeflow/training_pipeline.yaml is stale: run `librobot kubeflow compile`"
    )


def test_stable_header_sorts_dict_defaults_only():
    from librobot.kubeflow_pipeline import stable_header

    text = (
        "# Inputs:\n"
        "#    name: str [Default: 'x']\n"
        "#    promotion: dict [Default: {'stage': 'production', 'margin': 0.02, 'nested': {'b': 1, 'a': [2]}}]\n"
        "root:\n"
        "#    body: dict [Default: {'b': 1, 'a': 2}]\n"
    )
    assert stable_header(text) == (
        "# Inputs:\n"
        "#    name: str [Default: 'x']\n"
        "#    promotion: dict [Default: {'margin': 0.02, 'nested': {'a': [2], 'b': 1}, 'stage': 'production'}]\n"
        "root:\n"
        "#    body: dict [Default: {'b': 1, 'a': 2}]\n"  # only the header is KFP's; the YAML is left alone
    )


def test_every_step_runs_in_the_project_image():
    spec, _ = _documents(COMMITTED)
    executors = spec["deploymentSpec"]["executors"]
    components = {name.removeprefix("exec-") for name in executors}
    assert components == STEPS
    assert {e["container"]["image"] for e in executors.values()} == {"librobot:train"}
    assert spec["pipelineInfo"]["name"] == "librobot-training"


def test_schedule_takes_its_parameters_from_the_pipeline_config(tmp_path, capsys):
    config = tmp_path / "nightly.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "parameters": {
                    "experiment": "experiment/default",
                    "episodes_per_task": 3,
                    "quantize_mode": None,
                    "output_root": "x",
                }
            }
        )
    )
    argv = ["kubeflow", "schedule", "--host", "http://kfp.invalid", "--cron", "0 0 3 * * *", "--config", str(config)]
    assert main([*argv, "--registry", "/mnt/reg", "--dry-run"]) == 0
    request = yaml.safe_load(capsys.readouterr().out)
    assert request["cron_expression"] == "0 0 3 * * *"
    assert request["params"] == {
        "experiment": "experiment/default",
        "episodes_per_task": 3,
        "quantize_mode": "",
        "registry": "/mnt/reg",
    }


def test_schedule_refuses_parameters_the_pipeline_does_not_take(tmp_path):
    from librobot.cli.kubeflow import schedule_parameters

    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"parameters": {"epochs": 3}}))
    with pytest.raises(ValueError, match=r"parameters \['epochs'\] are not inputs of the Kubeflow pipeline"):
        schedule_parameters(config)


def test_default_pipeline_config_schedules_cleanly():
    from librobot.cli.kubeflow import schedule_parameters

    params = schedule_parameters(ROOT / "configs" / "pipelines" / "default.yaml")
    assert params["experiment"] == "experiment/default" and "output_root" not in params


def test_gpu_compile_requests_accelerators_for_training_only(tmp_path, monkeypatch):
    monkeypatch.delenv("LIBROBOT_IMAGE", raising=False)
    out = tmp_path / "gpu.yaml"
    assert (
        main(["kubeflow", "compile", "--gpus", "2", "--image", "registry.invalid/librobot:train", "--output", str(out)])
        == 0
    )
    executors = _documents(out)[0]["deploymentSpec"]["executors"]
    with_gpus = {name for name, e in executors.items() if "accelerator" in e["container"].get("resources", {})}
    assert with_gpus == {"exec-train"}
    assert executors["exec-train"]["container"]["resources"]["accelerator"]["resourceCount"] == "2"
    assert {e["container"]["image"] for e in executors.values()} == {"registry.invalid/librobot:train"}
    assert main(["kubeflow", "compile", "--output", str(tmp_path / "cpu.yaml")]) == 0  # back to the defaults


def test_num_nodes_is_a_parameter_and_the_train_task_mounts_the_shared_volume():
    """With num_nodes > 1 the train task hands the TrainJob its inputs, and takes the bundle back, on the PVC."""
    spec, platform = _documents(COMMITTED)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["num_nodes"] == {"defaultValue": 1.0, "isOptional": True, "parameterType": "NUMBER_INTEGER"}
    assert params["shared_pvc"]["defaultValue"] == SHARED_VOLUME and params["train_image"]["defaultValue"] == (
        "librobot:train"
    )
    train = spec["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
    for name in ("num_nodes", "gpus_per_node", "train_image", "shared_pvc"):
        assert train[name] == {"componentInputParameter": name}, name
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    # train hands the nodes their inputs; promote keeps the registry (default under the mount) there
    assert sorted(executors) == ["exec-promote", "exec-train"]
    assert params["registry"]["defaultValue"] == f"{DEFAULT_MOUNT}/registry"
    for executor in executors.values():
        (mount,) = executor["pvcMount"]
        # the PVC's name is the run's shared_pvc, resolved by the KFP backend when the pod is created
        assert mount["mountPath"] == DEFAULT_MOUNT
        assert mount["pvcNameParameter"] == {"componentInputParameter": "shared_pvc"}
