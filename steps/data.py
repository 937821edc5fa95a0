"""Data steps: make the DVC-tracked dataset present, validate it with GX, compute normalization."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, save_artifact, step

from steps.config import experiment_config


@step(enable_cache=False)  # always re-check the data on disk; an unchanged md5 keeps later steps cached
def load_dataset(path: str) -> Annotated[dict[str, str], "dataset"]:
    """``dvc pull`` the dataset when it is missing; record its path and DVC md5."""
    from librobot.validation.presence import ensure_dataset

    dataset = ensure_dataset(path)
    log_metadata({"dataset": dataset})
    return dataset


@step
def validate(
    dataset: dict[str, str], config_yaml: str, settings: dict[str, Any]
) -> Annotated[dict[str, Any], "gx_validation_result"]:
    """Great Expectations suite over frames and episodes; a failure stops the run with the report."""
    from librobot.validation import DatasetValidationError, ValidationSettings, validate_for_experiment

    cfg = experiment_config(config_yaml, dataset["path"])
    report = validate_for_experiment(dataset["path"], cfg, ValidationSettings(**settings))
    log_metadata(
        {"validation": {"success": report.success, "evaluated": report.evaluated, "failed": len(report.failures)}}
    )
    if not report.success:
        save_artifact(report.to_dict(), name="gx_validation_result_failed")  # kept for inspection
        raise DatasetValidationError(report)
    return report.to_dict()


@step
def normalize(dataset: dict[str, str], config_yaml: str) -> Annotated[dict[str, Any], "normalizer"]:
    """Normalization stats of the representation the policy trains on (``Normalizer.to_dict()``)."""
    from librobot.data.dataset import ChunkedDataset

    cfg = experiment_config(config_yaml, dataset["path"])
    data = ChunkedDataset(
        dataset["path"],
        action_horizon=cfg.data.action_horizon,
        action_representation=cfg.data.action_representation,
        load_images=False,
        validate=False,
    )
    return data.normalizer(dict(cfg.data.normalization)).to_dict()
