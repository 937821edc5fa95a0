"""Package step: a BentoML model from the promoted bundle."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

from librobot import pipeline_ops as ops
from librobot.bundle import Bundle
from steps import materializers  # noqa: F401  (registers the bundle materializer)


@step(enable_cache=False)  # BentoML's store lives outside ZenML: package whenever a version is promoted
def package(bundle: Bundle, promotion: dict[str, Any], name: str) -> Annotated[str, "bentoml_tag"]:
    """Returns the BentoML tag, or "" when the version was not promoted (production stays as it was)."""
    if not promotion["promoted"]:
        return ""
    tag = ops.package(bundle.path, name, model_version=f"{promotion['model']}:{promotion['version']}")
    log_metadata({"bentoml_tag": tag}, infer_model=True)
    return tag
