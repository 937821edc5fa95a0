"""Isolated ZenML / MLflow / BentoML homes (set before zenml is imported) and a tiny recorded dataset."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # pipelines/ and steps/ live beside librobot/, not in the installed package
    sys.path.insert(0, str(ROOT))
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


@pytest.fixture(scope="session")
def tiny_metaworld_dataset(tmp_path_factory) -> Path:
    """Two scripted reach-v3 episodes at 32x32: what the tiny pipeline config trains and evaluates on."""
    from librobot.cli import main

    out = tmp_path_factory.mktemp("data") / "reach_tiny"
    argv = ["data", "generate", "--env", "metaworld", "--tasks", "reach-v3", "--episodes", "2", "--out", str(out)]
    assert main([*argv, "--env-kwargs", '{"image_size": 32}']) == 0
    return out


@pytest.fixture(scope="session")
def tiny_pipeline_parameters(tiny_metaworld_dataset, tmp_path_factory) -> dict:
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(ROOT / "configs" / "pipelines" / "tiny.yaml"))
    params = dict(config["parameters"])
    params["dataset_path"] = str(tiny_metaworld_dataset)
    params["output_root"] = str(tmp_path_factory.mktemp("pipeline_outputs"))
    return {"model": config["model"], "parameters": params}
