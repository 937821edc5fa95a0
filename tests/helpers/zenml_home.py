"""Point ZenML, MLflow and BentoML at a throwaway home; conftests call this before zenml is imported."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolate_zenml_home() -> None:
    if "LIBROBOT_TEST_HOME" in os.environ:
        return  # a test's subprocess: the session that started it made the home
    home = tempfile.mkdtemp(prefix="librobot-zenml-")
    os.environ["LIBROBOT_TEST_HOME"] = home
    # the session's stores, models and BentoML home: 1-1.5 GB a run, removed when the session ends
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for key, value in {
        "ZENML_CONFIG_PATH": f"{home}/zenml",
        "ZENML_LOCAL_STORES_PATH": f"{home}/zenml/local_stores",
        "ZENML_CUSTOM_SOURCE_ROOT": str(ROOT),  # steps/ and pipelines/ resolve from the checkout
        "BENTOML_HOME": f"{home}/bentoml",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "WARN",
    }.items():
        os.environ.setdefault(key, value)  # what the caller set already stays
