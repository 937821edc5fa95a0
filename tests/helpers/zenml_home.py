"""Point ZenML, MLflow and BentoML at a throwaway home; conftests call this before zenml is imported."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolate_zenml_home() -> None:
    home = tempfile.mkdtemp(prefix="librobot-zenml-")
    for key, value in {
        "ZENML_CONFIG_PATH": f"{home}/zenml",
        "ZENML_LOCAL_STORES_PATH": f"{home}/zenml/local_stores",
        "ZENML_CUSTOM_SOURCE_ROOT": str(ROOT),  # steps/ and pipelines/ resolve from the checkout
        "BENTOML_HOME": f"{home}/bentoml",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "WARN",
    }.items():
        os.environ.setdefault(key, value)  # a session that already isolated ZenML keeps its home
