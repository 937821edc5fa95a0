"""Train step: the normalize step's stats + the resolved experiment -> a policy bundle artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step

from librobot import pipeline_ops as ops
from librobot.bundle import Bundle, load_bundle
from librobot.data.normalizer import Normalizer
from steps import materializers  # noqa: F401  (registers the bundle materializer)


@step
def train(
    dataset: dict[str, str], normalizer: dict[str, Any], config_yaml: str, output_root: str
) -> Annotated[Bundle, "policy_bundle"]:
    output = Path(output_root).resolve() / get_step_context().pipeline_run.name
    # resume: a retried step continues its checkpoints
    bundle_dir = ops.train(config_yaml, dataset["path"], Normalizer.from_dict(normalizer), output, resume=True)
    bundle = load_bundle(bundle_dir, with_model=False)
    metrics = {k: float(v) for k, v in (bundle.metadata.get("train_metrics") or {}).items() if _number(v)}
    log_metadata({"train_metrics": metrics, "dataset": bundle.metadata.get("dataset") or dataset}, infer_model=True)
    _track(metrics, config_yaml)
    return bundle


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _track(metrics: dict[str, float], config_yaml: str) -> None:
    """Log the summary on the stack's MLflow experiment tracker run when the stack has one."""
    from zenml.client import Client

    if Client().active_stack.experiment_tracker is None:
        return
    import mlflow

    if mlflow.active_run() is not None:
        cfg = ops.experiment_config(config_yaml)
        mlflow.log_metrics(metrics)
        mlflow.log_params({"experiment": cfg.name, "max_steps": cfg.training.max_steps, "dataset": cfg.data.path})
