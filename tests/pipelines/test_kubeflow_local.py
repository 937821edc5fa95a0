"""The Kubeflow pipeline runs end to end on one machine with kfp.local (SubprocessRunner, this venv).

The int8 graph is rejected (a gate no graph passes): the version is still promoted and packaged,
serving fp32, and the registry says why. Evaluation rolls out only the task `evaluation.tasks` names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EVAL_TASK = "button-press-topdown-v3"  # the tiny dataset holds reach-v3 only: the rollouts must follow the config


def test_kfp_local_runs_the_tiny_pipeline_and_promotes_into_the_registry(tiny_pipeline_parameters, tmp_path):
    from kfp import local

    from librobot.kubeflow_pipeline import training_pipeline

    params = tiny_pipeline_parameters["parameters"]
    registry = tmp_path / "registry"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp_root"))
    training_pipeline(
        experiment=params["experiment"],
        overrides=[*params["overrides"], "+export.quant_min_cosine=1.01"],  # no graph passes: int8 is rejected
        dataset_path=params["dataset_path"],
        validation=params["validation"],
        episodes_per_task=params["episodes_per_task"],
        evaluation={**params["evaluation"], "tasks": [EVAL_TASK]},
        quantize_mode="int8",
        promotion=params["promotion"],
        registry=str(registry),
        bento_name="librobot_policy_kfp",
    )

    production = json.loads((registry / "production.json").read_text())
    assert production["stage"] == "production" and 0.0 <= production["success_rate"] <= 1.0
    bundle = Path(production["bundle"])
    assert (bundle / "onnx" / "policy.onnx").is_file() and (bundle / "model.safetensors").is_file()
    assert not (bundle / "onnx" / "policy.int8.onnx").exists()
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["eval_metrics"]["success_rate"] == production["success_rate"]
    assert list(metadata["eval_metrics"]["per_task"]) == [EVAL_TASK]
    rejected = metadata["export"]["int8_rejected"]
    assert "misses its gate" in rejected and production["runtime"] == "onnx" and production["int8_rejected"] == rejected
    decisions = [json.loads(line) for line in (registry / "decisions.jsonl").read_text().splitlines()]
    assert len(decisions) == 1 and decisions[0]["promoted"] and "no production version yet" in decisions[0]["reason"]
    assert decisions[0]["int8_rejected"] == rejected

    import bentoml

    packaged = bentoml.models.get("librobot_policy_kfp:latest").info.metadata
    assert packaged["normalizer"] and packaged["runtime"] == "onnx"  # the package task ran, serving fp32
    assert packaged["int8_rejected"] == rejected
