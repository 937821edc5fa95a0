"""The Kubeflow pipeline runs end to end on one machine with kfp.local (SubprocessRunner, this venv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_kfp_local_runs_the_tiny_pipeline_and_promotes_into_the_registry(tiny_pipeline_parameters, tmp_path):
    from kfp import local

    from pipelines.kubeflow import training_pipeline

    params = tiny_pipeline_parameters["parameters"]
    registry = tmp_path / "registry"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp_root"))
    training_pipeline(
        experiment=params["experiment"],
        overrides=params["overrides"],
        dataset_path=params["dataset_path"],
        validation=params["validation"],
        episodes_per_task=params["episodes_per_task"],
        evaluation=params["evaluation"],
        quantize_mode="",  # int8 re-exports the graph: the default config covers it
        promotion=params["promotion"],
        registry=str(registry),
        bento_name="librobot_policy_kfp",
    )

    production = json.loads((registry / "production.json").read_text())
    assert production["stage"] == "production" and 0.0 <= production["success_rate"] <= 1.0
    bundle = Path(production["bundle"])
    assert (bundle / "onnx" / "policy.onnx").is_file() and (bundle / "model.safetensors").is_file()
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["eval_metrics"]["success_rate"] == production["success_rate"]
    decisions = [json.loads(line) for line in (registry / "decisions.jsonl").read_text().splitlines()]
    assert len(decisions) == 1 and decisions[0]["promoted"] and "no production version yet" in decisions[0]["reason"]

    import bentoml

    assert bentoml.models.get("librobot_policy_kfp:latest").info.metadata["normalizer"]  # the package task ran
