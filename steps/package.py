"""Package step: a BentoML model from the promoted bundle (``librobot.serving.package_policy``)."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

import librobot.pipeline_materializers  # noqa: F401  (registers the bundle materializer)
from librobot.bundle import Bundle


@step(enable_cache=False)  # BentoML's store lives outside ZenML: package whenever a version is promoted
def package(bundle: Bundle, promotion: dict[str, Any], name: str) -> Annotated[str, "bentoml_tag"]:
    """Returns the BentoML tag, or "" when the version was not promoted (production stays as it was)."""
    from librobot.bundle import update_metadata
    from librobot.serving.package import package_policy

    if not promotion["promoted"]:
        return ""
    update_metadata(bundle.path, model_version=f"{promotion['model']}:{promotion['version']}")
    tag = package_policy(bundle.path, name=name)
    log_metadata({"bentoml_tag": tag}, infer_model=True)
    return tag
