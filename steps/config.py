"""The experiment config the steps work with.

The pipeline resolves ``experiment`` + ``overrides`` once, when the run is compiled, and hands the
resolved YAML to the steps as a parameter: ZenML's cache key then covers the config's content, so
editing ``configs/experiment/*.yaml`` re-runs the steps that depend on it (a name alone would not).
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


def resolve_experiment(experiment: str, overrides: list[str]) -> str:
    from librobot.config import load_config

    return OmegaConf.to_yaml(load_config(experiment, list(overrides)), resolve=True)


def experiment_config(config_yaml: str, dataset_path: str) -> DictConfig:
    """The resolved experiment, on the pipeline's dataset."""
    from librobot.config import validate

    return validate(OmegaConf.merge(OmegaConf.create(config_yaml), {"data": {"path": dataset_path}}))
