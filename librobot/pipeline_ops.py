"""The training pipeline's steps as plain functions: the one body both orchestrators run.

ZenML's steps (``steps/``) and Kubeflow's components (``librobot/kubeflow_pipeline.py``) only move artifacts
in and out of these functions; what a step does, and its defaults, live here, so the two
orchestrators cannot diverge. Both hand the steps the *resolved* experiment config as YAML (with
``data.path`` set), so a cache keyed on the steps' inputs re-runs them when the config changes.

An op imports its heavy stack when it runs (torch for normalize, train, export, quantize and evaluate;
pandas for validation): ``librobot kubeflow compile`` imports this module for its defaults, and each
Kubeflow component runs one op in its own container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from librobot.bundle import update_metadata
from librobot.config import ExperimentConfig, load_config, save_config, to_yaml, validate
from librobot.data.normalizer import Normalizer
from librobot.promotion import PromotionPolicy
from librobot.serving.package import package_policy
from librobot.training.distributed import accelerate_train_command

DEFAULT_EXPERIMENT = "experiment/default"
DEFAULT_DATASET = "data/default"
DEFAULT_VALIDATION = {"bounds_tolerance": 0.05, "fps_tolerance": 0.1, "min_episode_length": 2}
DEFAULT_PROMOTION = PromotionPolicy.defaults()
DEFAULT_EPISODES_PER_TASK = 5
DEFAULT_QUANTIZE_MODE = "int8"
DEFAULT_BENTO_NAME = "librobot-policy"


def resolve_experiment(experiment: str, overrides: Sequence[str], dataset_path: str | None = None) -> str:
    """The experiment composed with ``overrides`` (and the pipeline's dataset) as resolved YAML."""
    extra = [f"data.path={dataset_path}"] if dataset_path else []
    return to_yaml(load_config(experiment, [*overrides, *extra]))


def experiment_config(config_yaml: str, dataset_path: str | None = None) -> ExperimentConfig:
    """The resolved experiment back as a validated config, on ``dataset_path`` when given."""
    cfg = OmegaConf.create(config_yaml)
    if dataset_path:
        cfg = OmegaConf.merge(cfg, {"data": {"path": dataset_path}})
    return validate(cfg)


def from_struct(values: Mapping[str, Any]) -> dict[str, Any]:
    """Integral floats back to ints (2.0 -> 2): KFP carries dict parameters as protobuf Structs, where
    every number is a float, and the ops take them from either orchestrator."""
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


def load_dataset(path: str) -> dict[str, str]:
    """``dvc pull`` the dataset when it is missing; ``{"path", "md5"}`` (the DVC md5 names the data)."""
    from librobot.validation.presence import ensure_dataset  # lazy: pandas (see the module docstring)

    return ensure_dataset(path)


def validate_dataset(config_yaml: str, dataset_path: str, settings: Mapping[str, Any]) -> Any:
    """Great Expectations over frames and episodes with the experiment's robot and feature selection.

    Returns the report; raises ``DatasetValidationError`` (``.report``) when the data fails it.
    """
    # lazy: pandas (see the module docstring)
    from librobot.validation import DatasetValidationError, ValidationSettings, validate_for_experiment

    cfg = experiment_config(config_yaml, dataset_path)
    report = validate_for_experiment(
        dataset_path, cfg, ValidationSettings(**from_struct({**DEFAULT_VALIDATION, **settings}))
    )
    if not report.success:
        raise DatasetValidationError(report)
    return report


def normalize(config_yaml: str, dataset_path: str) -> Normalizer:
    """The normalizer of what the policy trains on: the experiment's features and action representation."""
    from librobot.data.dataset import ChunkedDataset  # lazy: torch (see the module docstring)

    cfg = experiment_config(config_yaml, dataset_path)
    data = ChunkedDataset.from_config(cfg.data, split="train", load_images=False, validate=False)
    return data.normalizer(dict(cfg.data.normalization))


def train(
    config_yaml: str,
    dataset_path: str,
    normalizer: Normalizer,
    output: str | Path,
    resume: bool = False,
    num_processes: int = 1,
) -> Path:
    """Train on ``normalizer`` (the normalize step's); with ``num_processes > 1`` under ``accelerate launch``."""
    cfg = experiment_config(config_yaml, dataset_path)
    output = Path(output)
    if num_processes <= 1:
        from librobot.training.run import train as train_policy  # lazy: torch (see the module docstring)

        return Path(train_policy(cfg, output, resume=resume, normalizer=normalizer))
    import subprocess

    output.mkdir(parents=True, exist_ok=True)
    config = save_config(cfg, output.parent / f"{output.name}.config.yaml")
    stats = normalizer.save(output.parent / f"{output.name}.normalizer.json")
    command = accelerate_train_command(config, output, num_processes)
    command += ["--normalizer", str(stats)] + (["--resume"] if resume else [])
    subprocess.run(command, check=True)
    return output


def export(bundle_path: str | Path) -> dict[str, Any]:
    """fp32 ONNX into the bundle's ``onnx/``; raises when ONNX Runtime disagrees with torch (parity gate)."""
    from librobot.inference.onnx_export import export_policy  # lazy: torch (see the module docstring)

    return export_policy(bundle_path)


def quantize(bundle_path: str | Path, mode: str | None) -> dict[str, Any]:
    """int8/int4 under its gates from the export step's fp32 graph; a rejection is recorded, never raised."""
    # lazy: torch (see the module docstring)
    from librobot.evaluation.runtime_comparison import closed_loop_comparison
    from librobot.inference.onnx_export import try_quantize

    return try_quantize(bundle_path, mode or None, closed_loop=closed_loop_comparison)


def evaluate(bundle_path: str | Path, output: str | Path, episodes_per_task: int, settings: Mapping[str, Any]) -> dict:
    """Closed-loop rollouts in the bundle's simulator (``settings``: eval overrides such as tasks, max_steps)."""
    from librobot.evaluation.run import evaluate as evaluate_policy  # lazy: torch (see the module docstring)

    return evaluate_policy(
        bundle_path, output, episodes=episodes_per_task, overrides=from_struct(settings), progress=False
    )


def quantization_notes(quantize_report: Mapping[str, Any]) -> dict[str, str]:
    """What a promotion record says about quantization: the served runtime and why a graph was rejected."""
    from librobot.inference.onnx_export import quantization_notes as notes  # lazy: torch (module docstring)

    return notes(dict(quantize_report))


def promotion_policy(values: Mapping[str, Any] | None) -> PromotionPolicy:
    return PromotionPolicy(**from_struct({**DEFAULT_PROMOTION, **(values or {})}))


def package(bundle_path: str | Path, name: str, model_version: str | None = None) -> str:
    """A BentoML model from the promoted bundle; returns its tag."""
    if model_version:
        update_metadata(bundle_path, model_version=model_version)
    return package_policy(bundle_path, name=name)
