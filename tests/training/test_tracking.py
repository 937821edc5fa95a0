"""MLflow tracking keeps every file of a run beside its store, never in the working directory."""

from pathlib import Path

from librobot.training.tracking import MLflowTracker


def test_a_sqlite_store_keeps_artifacts_beside_it_not_in_the_working_directory(tmp_path, monkeypatch):
    store, cwd = tmp_path / "store", tmp_path / "cwd"
    store.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    tracker = MLflowTracker(tmp_path / "run", experiment="tracking-test", run_name="r")
    artifact = tmp_path / "curve.txt"
    artifact.write_text("loss")
    tracker.log_artifact(artifact)
    tracker.finish()
    assert list(cwd.iterdir()) == []  # MLflow's default would be ./mlruns here
    assert [p.name for p in (store / "mlartifacts").rglob("curve.txt")] == ["curve.txt"]


def test_without_a_tracking_uri_the_store_lives_in_the_output_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "run"
    tracker = MLflowTracker(out, experiment="tracking-test", run_name="r")
    (tmp_path / "a.txt").write_text("x")
    tracker.log_artifact(tmp_path / "a.txt")
    tracker.finish()
    assert (out / "mlflow.db").is_file()
    assert [p.name for p in (out / "mlartifacts").rglob("a.txt")] == ["a.txt"]
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["a.txt", "run"]
