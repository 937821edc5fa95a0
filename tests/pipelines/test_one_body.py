"""ZenML and Kubeflow run one body per step: the same ``librobot.pipeline_ops`` calls, the same defaults."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from librobot import pipeline_ops as ops

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("load_dataset", "validate", "normalize", "train", "export", "quantize", "evaluate", "promote", "package")


def _ops_calls(source: str) -> dict[str, set[str]]:
    """``{function name: {ops.X called in its body}}`` for every top-level function of a module."""
    calls: dict[str, set[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            calls[node.name] = {
                sub.func.attr
                for sub in ast.walk(node)
                if isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "ops"
            }
    return calls


def _zenml_calls() -> dict[str, set[str]]:
    calls: dict[str, set[str]] = {}
    for path in sorted((ROOT / "steps").glob("*.py")):
        calls.update(_ops_calls(path.read_text()))
    return calls


def test_every_step_of_both_orchestrators_calls_the_same_ops():
    kfp = _ops_calls((ROOT / "librobot" / "kubeflow_pipeline.py").read_text())
    zenml = _zenml_calls()
    for step in STEPS:
        assert zenml[step], f"ZenML step {step} calls no pipeline op: its body would live in steps/"
        assert kfp[step] == zenml[step], f"{step}: Kubeflow calls {sorted(kfp[step])}, ZenML {sorted(zenml[step])}"
        for name in zenml[step]:
            assert callable(getattr(ops, name)), name


def test_both_pipelines_take_their_defaults_from_pipeline_ops():
    from librobot.kubeflow_pipeline import training_pipeline as kfp_pipeline
    from pipelines.training import training_pipeline as zenml_pipeline

    kfp_defaults = {
        name: spec.default_value for name, spec in kfp_pipeline.pipeline_spec.root.input_definitions.parameters.items()
    }
    zenml_defaults = {name: p.default for name, p in inspect.signature(zenml_pipeline.entrypoint).parameters.items()}
    expected = {
        "experiment": ops.DEFAULT_EXPERIMENT,
        "dataset_path": ops.DEFAULT_DATASET,
        "episodes_per_task": ops.DEFAULT_EPISODES_PER_TASK,
        "quantize_mode": ops.DEFAULT_QUANTIZE_MODE,
        "bento_name": ops.DEFAULT_BENTO_NAME,
    }
    for name, value in expected.items():
        assert zenml_defaults[name] == value, name
        kfp_value = kfp_defaults[name]
        got = {"string_value": kfp_value.string_value, "number_value": kfp_value.number_value}
        assert value in got.values(), f"{name}: Kubeflow default {kfp_value} is not {value!r}"
    # dict defaults: Kubeflow states them, ZenML merges the same ops constants over None
    assert dict(kfp_defaults["validation"].struct_value) == ops.DEFAULT_VALIDATION
    assert dict(kfp_defaults["promotion"].struct_value) == ops.DEFAULT_PROMOTION
    assert zenml_defaults["validation"] is None and zenml_defaults["promotion"] is None
    zenml_source = (ROOT / "pipelines" / "training.py").read_text()
    assert "ops.DEFAULT_VALIDATION, **(validation or {})" in zenml_source
    assert "ops.DEFAULT_PROMOTION, **(promotion or {})" in zenml_source


def test_kubeflow_tasks_are_keyed_on_the_resolved_config_and_ordered_by_after():
    """Like ZenML's cache, KFP's sees the config's content; training waits for validation without using its report."""
    import yaml

    # the first document; the second is the platform spec (the train task's shared volume)
    spec = next(yaml.safe_load_all((ROOT / "infra" / "kubeflow" / "training_pipeline.yaml").read_text()))
    tasks = spec["root"]["dag"]["tasks"]
    for name in ("validate", "normalize", "train"):
        params = tasks[name]["inputs"]["parameters"]
        assert params["config_yaml"]["taskOutputParameter"]["producerTask"] == "resolve-config", name
        assert "experiment" not in params and "overrides" not in params, name
    assert "validate" in tasks["train"]["dependentTasks"]
    assert "report" not in tasks["train"]["inputs"].get("artifacts", {})
    assert tasks["train"]["inputs"]["artifacts"]["normalizer"]["taskOutputArtifact"]["producerTask"] == "normalize"


@pytest.mark.numeric
def test_train_uses_the_normalize_steps_stats(tiny_pipeline_parameters, tmp_path):
    """Data flows one way: the stats the normalize op computed are the ones in the trained bundle."""
    import json

    params = tiny_pipeline_parameters["parameters"]
    dataset = params["dataset_path"]
    config_yaml = ops.resolve_experiment(params["experiment"], params["overrides"], dataset_path=dataset)
    normalizer = ops.normalize(config_yaml, dataset)
    shifted = normalizer.to_dict()
    shifted["action"]["stats"]["mean"] = [m + 0.5 for m in shifted["action"]["stats"]["mean"]]
    bundle = ops.train(config_yaml, dataset, type(normalizer).from_dict(shifted), tmp_path / "run")
    saved = json.loads((bundle / "normalization.json").read_text())["normalizer"]
    assert saved["action"]["stats"]["mean"] == shifted["action"]["stats"]["mean"]
    assert saved["observation.state"] == normalizer.to_dict()["observation.state"]


def test_train_refuses_stats_of_other_features(tiny_metaworld_dataset):
    from librobot.data.dataset import ChunkedDataset
    from librobot.training.run import checked_normalizer

    dataset = ChunkedDataset(tiny_metaworld_dataset, load_images=False, validate=False)
    config_yaml = ops.resolve_experiment("experiment/default_proprio", [], dataset_path=str(tiny_metaworld_dataset))
    proprio = ops.normalize(config_yaml, str(tiny_metaworld_dataset))
    with pytest.raises(ValueError, match="observation.state.*data.state_features"):
        checked_normalizer(proprio, dataset)
    assert checked_normalizer(None, dataset) is None
