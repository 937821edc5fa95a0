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

from librobot.promotion import PromotionPolicy
from steps import evaluate, export, load_dataset, normalize, package, promote, quantize, train, validate
from steps.config import resolve_experiment

DEFAULT_VALIDATION = {"bounds_tolerance": 0.05, "fps_tolerance": 0.1, "min_episode_length": 2}
DEFAULT_PROMOTION = PromotionPolicy.defaults()  # one place: librobot.promotion


def _tracked(step: Any) -> Any:
    """Give a step the stack's experiment tracker, if the active stack has one."""
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    return step.with_options(experiment_tracker=tracker.name) if tracker is not None else step


@pipeline
def training_pipeline(
    experiment: str = "experiment/default",
    overrides: list[str] | None = None,
    dataset_path: str = "data/default",
    validation: dict[str, Any] | None = None,
    episodes_per_task: int = 5,
    evaluation: dict[str, Any] | None = None,
    quantize_mode: str | None = "int8",
    promotion: dict[str, Any] | None = None,
    bento_name: str = "librobot-policy",
    output_root: str = "outputs/pipeline",
) -> None:
    config_yaml = resolve_experiment(experiment, list(overrides or []))  # its content keys the cache
    dataset = load_dataset(dataset_path)
    gx_result = validate(dataset, config_yaml, {**DEFAULT_VALIDATION, **(validation or {})})
    stats = normalize(dataset, config_yaml)
    bundle = _tracked(train)(dataset, stats, gx_result, config_yaml, output_root)
    exported, _ = export(bundle)
    quantized, quantize_report = quantize(exported, quantize_mode)
    evaluated, report = evaluate(quantized, episodes_per_task, evaluation or {}, output_root)
    decision = promote(report, quantize_report, {**DEFAULT_PROMOTION, **(promotion or {})})
    package(evaluated, decision, bento_name)
