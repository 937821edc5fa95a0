"""The ZenML training pipeline end to end on the tiny config, in an isolated ZenML/MLflow/BentoML home.

First run: every step runs, the version is promoted (no production yet) and packaged as a BentoML
model carrying the bundle's normalization. Its int8 graph is rejected (a gate no graph passes), and
that changes nothing but the served runtime: the package serves fp32 and says why. Evaluation
rolls out only the task `evaluation.tasks` names. Second run, nothing changed: the work comes from
ZenML's cache and the equal model is not promoted over production.
"""

from __future__ import annotations

import copy

import pytest
import yaml

pytestmark = pytest.mark.slow

CACHEABLE = {"validate", "normalize", "train", "export", "quantize", "evaluate"}
EVAL_TASK = "button-press-topdown-v3"  # the tiny dataset holds reach-v3 only: the rollouts must follow the config


def _output(run, step: str, name: str):
    artifacts = run.steps[step].outputs[name]
    return (artifacts[0] if isinstance(artifacts, list) else artifacts).load()


@pytest.fixture
def mlflow_stack(tmp_path):
    """The local stack `make demo` registers: default orchestrator and artifact store + an MLflow tracker."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client.create_stack_component(
        name="test_mlflow",
        flavor="mlflow",
        component_type=StackComponentType.EXPERIMENT_TRACKER,
        configuration={"tracking_uri": uri},
    )
    default = client.get_stack("default")
    components = {kind: [c.name for c in items] for kind, items in default.components.items()}
    components[StackComponentType.EXPERIMENT_TRACKER] = ["test_mlflow"]
    client.create_stack(name="test_mlflow_stack", components=components)
    client.activate_stack("test_mlflow_stack")
    yield uri
    client.activate_stack("default")


def test_pipeline_promotes_packages_then_reuses_cache_without_promoting(
    tiny_pipeline_parameters, mlflow_stack, tmp_path
):
    import bentoml
    from mlflow.tracking import MlflowClient
    from zenml.client import Client
    from zenml.enums import ExecutionStatus, ModelStages

    from pipelines.training import training_pipeline

    run_config = copy.deepcopy(tiny_pipeline_parameters)
    params = run_config["parameters"]
    params["quantize_mode"] = "int8"
    params["overrides"].append("+export.quant_min_cosine=1.01")  # no graph passes: int8 is rejected
    params["evaluation"]["tasks"] = [EVAL_TASK]
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(run_config))  # caching: on by default; some steps opt out
    model_name = run_config["model"]["name"]
    client = Client()

    first = client.get_pipeline_run(training_pipeline.with_options(config_path=str(config))().id)
    assert first.status == ExecutionStatus.COMPLETED

    gx = _output(first, "validate", "gx_validation_result")
    assert gx["success"] and gx["gx_results"]["frames"]["success"]
    dataset = _output(first, "load_dataset", "dataset")
    assert dataset["path"] == params["dataset_path"] and dataset["md5"].endswith(".dir")

    production = client.get_model_version(model_name, ModelStages.PRODUCTION)
    assert production.run_metadata["promotion"]["promoted"] is True
    assert 0.0 <= production.run_metadata["closed_loop_success_rate"] <= 1.0

    bundle = _output(first, "evaluate", "evaluated_bundle")
    assert (bundle.path / "onnx" / "policy.onnx").is_file()
    assert list(_output(first, "evaluate", "eval_report")["per_task"]) == [EVAL_TASK]
    quantized = _output(first, "quantize", "quantize_report")
    assert not quantized["passed"] and quantized["runtime"] == "onnx" and "misses its gate" in quantized["rejected"]
    assert not (bundle.path / "onnx" / "policy.int8.onnx").exists()
    promotion = production.run_metadata["promotion"]
    assert promotion["runtime"] == "onnx" and promotion["int8_rejected"] == quantized["rejected"]
    assert bundle.metadata["eval_metrics"]["success_rate"] == production.run_metadata["closed_loop_success_rate"]
    tag = _output(first, "package", "bentoml_tag")
    packaged = bentoml.models.get(tag)
    assert packaged.info.metadata["normalizer"] == bundle.normalization["normalizer"]
    assert packaged.info.metadata["dataset_md5"] == bundle.metadata["dataset"]["md5"]
    assert packaged.info.metadata["runtime"] == "onnx" and packaged.info.metadata["runtimes"] == ["onnx"]
    assert packaged.info.metadata["int8_rejected"] == quantized["rejected"]

    tracking = MlflowClient(tracking_uri=mlflow_stack)  # the stack's experiment tracker
    experiments = {e.name: e.experiment_id for e in tracking.search_experiments()}
    assert tracking.search_runs([experiments["training_pipeline"]]), "no run of the ZenML MLflow tracker"
    trainer_runs = tracking.search_runs([experiments["librobot"]])
    assert trainer_runs and "train/loss" in trainer_runs[0].data.metrics, (
        "the trainer did not log to the stack's MLflow"
    )

    second = client.get_pipeline_run(training_pipeline.with_options(config_path=str(config))().id)
    assert second.status == ExecutionStatus.COMPLETED
    cached = {name for name, step in second.steps.items() if step.status == ExecutionStatus.CACHED}
    assert cached == CACHEABLE
    decision = _output(second, "promote", "promotion")
    assert decision["promoted"] is False and "not better by the margin" in decision["reason"]
    assert client.get_model_version(model_name, ModelStages.PRODUCTION).id == production.id
    assert _output(second, "package", "bentoml_tag") == ""
