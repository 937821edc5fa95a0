"""The experiment config a step works with: the pipeline's experiment + overrides, on the pipeline's dataset."""

from __future__ import annotations

from omegaconf import DictConfig


def experiment_config(experiment: str, overrides: list[str], dataset_path: str) -> DictConfig:
    from librobot.config import load_config

    return load_config(experiment, [*overrides, f"data.path={dataset_path}"])
