"""Run the suites with Great Expectations 1.x (ephemeral context: nothing written to disk by GX)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from librobot.data.feature_selection import select_features
from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.robots import RobotSpec
from librobot.robots.from_dataset import resolve_robot
from librobot.validation.report import DatasetValidationError, ValidationReport, failures_from
from librobot.validation.suite import episode_expectations, frame_expectations
from librobot.validation.tables import load_tables


@dataclass
class ValidationSettings:
    bounds_tolerance: float = 0.05  # share of each feature's range allowed outside the robot's bounds
    fps_tolerance: float = 0.1  # relative deviation of a frame step from 1/fps
    min_episode_length: int = 2
    max_episode_length: int | None = None


def validate_dataset(
    root: str | Path,
    robot: str | RobotSpec | Any,
    settings: ValidationSettings | None = None,
    state_features: Any = None,
    action_features: Any = None,
) -> ValidationReport:
    """Check a LeRobot v3 dataset against the robot's spec; never raises for bad data, reports it.

    ``state_features`` / ``action_features``: the experiment's ``data.*_features`` selection, so the
    dimensions checked against the robot are the ones the policy will train on.
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # before import: GX logs while importing
    import great_expectations as gx

    settings = settings or ValidationSettings()
    reader = LeRobotV3Reader(root)
    selections = {
        "observation.state": select_features(
            reader.feature_names("observation.state"), state_features, "data.state_features"
        ),
        "action": select_features(reader.feature_names("action"), action_features, "data.action_features"),
    }
    robot = resolve_robot(robot, reader, selections)
    names = {"observation.state": robot.state_names, "action": robot.action_names}
    tables = load_tables(root, names, selections)

    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    source = context.data_sources.add_pandas("lerobot")
    results, failures, evaluated = {}, [], 0
    for table, frame, expectations in (
        ("frames", tables.frames, frame_expectations(tables, robot, settings)),
        ("episodes", tables.episodes, episode_expectations(tables, settings)),
    ):
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=f"lerobot_{table}", expectations=expectations)
        result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format="SUMMARY")
        results[table] = result.to_json_dict()
        failures += failures_from(table, result)
        evaluated += len(result.results)
    return ValidationReport(
        dataset=str(root), success=not failures, evaluated=evaluated, failures=failures, results=results
    )


def validate_for_experiment(root: str | Path, cfg: Any, settings: ValidationSettings | None = None) -> ValidationReport:
    """``validate_dataset`` with an experiment's robot and its ``data.*_features`` selection (both orchestrators)."""
    data = cfg.data
    return validate_dataset(
        root,
        cfg.robot,
        settings,
        state_features=data.state_features,
        action_features=data.action_features,
    )


def check_dataset(root: str | Path, robot: Any, settings: ValidationSettings | None = None) -> ValidationReport:
    """``validate_dataset`` that raises ``DatasetValidationError`` (with the report) on failure."""
    report = validate_dataset(root, robot, settings)
    if not report.success:
        raise DatasetValidationError(report)
    return report


def _quiet(context: Any) -> None:
    """No tqdm bar per expectation batch: the pipeline's own logs say what runs."""
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except (ImportError, AttributeError):
        pass
