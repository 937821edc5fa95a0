"""MLflow tracking: params, per-step metrics, the resolved config and plots of a training run.

The store is ``MLFLOW_TRACKING_URI`` when set, else a sqlite file in the run's output directory
(artifacts beside it), so a run tracks itself with no server. Only the main process logs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from librobot.logging import get_logger

log = get_logger("training.tracking")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists become their string form)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


class MLflowTracker:
    """One MLflow run, created fresh or reopened by id when a training run resumes."""

    def __init__(self, output_dir: str | Path, experiment: str, run_name: str, run_id: str | None = None):
        from mlflow.tracking import MlflowClient

        output_dir = Path(output_dir).resolve()
        env_uri = os.environ.get("MLFLOW_TRACKING_URI")
        self.tracking_uri = env_uri or f"sqlite:///{output_dir / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            artifacts = _local_artifact_root(self.tracking_uri)
            experiment_id = self.client.create_experiment(experiment, artifact_location=artifacts)
        if run_id is None:
            run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        if items:
            self.client.log_batch(self.run_id, metrics=items)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


def _local_artifact_root(tracking_uri: str) -> str | None:
    """Artifacts beside a local sqlite store; MLflow's default is ``./mlruns`` in the *working directory*.

    A tracking server (http) or a file store chooses its own artifact root: None leaves it to them.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return (Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()


class NullTracker:
    """Stands in for MLflow when tracking is off or on non-main processes."""

    run_id = None
    tracking_uri = None

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def finish(self, status: str = "FINISHED") -> None: ...
