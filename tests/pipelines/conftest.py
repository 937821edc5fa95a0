"""Isolated ZenML / MLflow / BentoML homes (set before zenml is imported) and a tiny recorded dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.zenml_home import isolate_zenml_home

ROOT = Path(__file__).resolve().parents[2]
isolate_zenml_home()


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
