"""Train step: ``librobot.training.train`` on the validated dataset -> a policy bundle artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step

import librobot.pipeline_materializers  # noqa: F401  (registers the bundle materializer)
from librobot.bundle import Bundle, load_bundle
from steps.config import experiment_config


@step
def train(
    dataset: dict[str, str],
    normalizer: dict[str, Any],
    gx_validation_result: dict[str, Any],  # an input so training waits for validation
    config_yaml: str,
    output_root: str,
) -> Annotated[Bundle, "policy_bundle"]:
    from librobot.training import train as train_policy

    cfg = experiment_config(config_yaml, dataset["path"])
    context = get_step_context()
    output = Path(output_root).resolve() / f"{context.pipeline_run.name}"
    bundle_dir = train_policy(cfg, output, resume=True)  # resume: a retried step continues its checkpoints
    bundle = load_bundle(bundle_dir, with_model=False)
    if bundle.normalization.get("normalizer") != normalizer:
        raise ValueError(
            f"{bundle_dir}/normalization.json disagrees with the pipeline's normalizer artifact: "
            "training and the normalize step computed different stats"
        )
    metrics = {k: float(v) for k, v in (bundle.metadata.get("train_metrics") or {}).items() if _number(v)}
    log_metadata({"train_metrics": metrics, "dataset": bundle.metadata.get("dataset") or dataset}, infer_model=True)
    _track(metrics, cfg)
    return bundle


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _track(metrics: dict[str, float], cfg: Any) -> None:
    """Log the summary on the stack's MLflow experiment tracker run when the stack has one."""
    from zenml.client import Client

    if Client().active_stack.experiment_tracker is None:
        return
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.log_metrics(metrics)
        mlflow.log_params({"experiment": cfg.name, "max_steps": cfg.training.max_steps, "dataset": cfg.data.path})
