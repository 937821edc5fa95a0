"""The training pipeline: dataset -> validate -> normalize -> train -> evaluate -> export -> quantize -> promote -> package.

Run on the active ZenML stack (the local default stack works):

    zenml pipeline run pipelines.training.training_pipeline -c configs/pipelines/default.yaml

The config's ``model:`` section makes every run a new version of a ZenML Model; ``promote`` moves
it to production only when its closed-loop success reaches the minimum and beats production's by
the configured margin. A rejected int8 graph never stops the run: the package then serves fp32.
When the stack has an MLflow experiment tracker, the train step logs to it.
"""

from __future__ import annotations

from typing import Any

from zenml import pipeline

from librobot import pipeline_ops as ops
from steps import evaluate, export, load_dataset, normalize, package, promote, quantize, train, validate


def _tracked(step: Any) -> Any:
    """Give a step the stack's experiment tracker, if the active stack has one."""
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    return step.with_options(experiment_tracker=tracker.name) if tracker is not None else step


@pipeline
def training_pipeline(
    experiment: str = ops.DEFAULT_EXPERIMENT,
    overrides: list[str] | None = None,
    dataset_path: str = ops.DEFAULT_DATASET,
    validation: dict[str, Any] | None = None,
    episodes_per_task: int = ops.DEFAULT_EPISODES_PER_TASK,
    evaluation: dict[str, Any] | None = None,
    quantize_mode: str | None = ops.DEFAULT_QUANTIZE_MODE,
    promotion: dict[str, Any] | None = None,
    bento_name: str = ops.DEFAULT_BENTO_NAME,
    output_root: str = "outputs/pipeline",
) -> None:
    # resolved when the run is compiled: the config's content, not its name, keys the steps' cache
    config_yaml = ops.resolve_experiment(experiment, list(overrides or []))
    dataset = load_dataset(dataset_path)
    gx_result = validate(dataset, config_yaml, {**ops.DEFAULT_VALIDATION, **(validation or {})})
    stats = normalize(dataset, config_yaml)
    bundle = _tracked(train)(dataset, stats, config_yaml, output_root, after=gx_result)
    exported, _ = export(bundle)
    quantized, quantize_report = quantize(exported, quantize_mode)
    evaluated, report = evaluate(quantized, episodes_per_task, evaluation or {}, output_root)
    decision = promote(report, quantize_report, {**ops.DEFAULT_PROMOTION, **(promotion or {})})
    package(evaluated, decision, bento_name)
