"""Isolated ZenML / MLflow / BentoML homes for step tests (set before zenml is imported anywhere)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_HOME = tempfile.mkdtemp(prefix="librobot-zenml-")
for _key, _value in {
    "ZENML_CONFIG_PATH": f"{_HOME}/zenml",
    "ZENML_LOCAL_STORES_PATH": f"{_HOME}/zenml/local_stores",
    "ZENML_CUSTOM_SOURCE_ROOT": str(ROOT),  # steps/ and pipelines/ resolve from the checkout
    "BENTOML_HOME": f"{_HOME}/bentoml",
    "MLFLOW_TRACKING_URI": f"sqlite:///{_HOME}/mlflow.db",
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_LOGGING_VERBOSITY": "WARN",
}.items():
    os.environ.setdefault(_key, _value)  # a session that already isolated ZenML keeps its home
