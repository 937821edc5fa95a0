"""Data steps: make the DVC-tracked dataset present, validate it with GX, compute normalization."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, save_artifact, step

from librobot import pipeline_ops as ops
from librobot.validation import DatasetValidationError


@step(enable_cache=False)  # always re-check the data on disk; an unchanged md5 keeps later steps cached
def load_dataset(path: str) -> Annotated[dict[str, str], "dataset"]:
    dataset = ops.load_dataset(path)
    log_metadata({"dataset": dataset})
    return dataset


@step
def validate(
    dataset: dict[str, str], config_yaml: str, settings: dict[str, Any]
) -> Annotated[dict[str, Any], "gx_validation_result"]:
    try:
        report = ops.validate_dataset(config_yaml, dataset["path"], settings)
    except DatasetValidationError as err:
        save_artifact(err.report.to_dict(), name="gx_validation_result_failed")  # kept for inspection
        raise
    log_metadata({"validation": {"success": True, "evaluated": report.evaluated, "failed": 0}})
    return report.to_dict()


@step
def normalize(dataset: dict[str, str], config_yaml: str) -> Annotated[dict[str, Any], "normalizer"]:
    """``Normalizer.to_dict()``: the train step trains with exactly these stats."""
    return ops.normalize(config_yaml, dataset["path"]).to_dict()
