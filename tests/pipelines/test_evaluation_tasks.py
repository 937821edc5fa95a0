"""`evaluation.tasks` of a pipeline config reaches the rollouts, in the ZenML step's and the Kubeflow component's call.

Both orchestrators hand their ``evaluation`` parameter to ``librobot.evaluation.run.evaluate`` as
``overrides``; a ``tasks=None`` argument used to overwrite the tasks there. The bundle is trained
on reach-v3 only and asked for button-press-topdown-v3, so evaluating "the dataset's tasks" instead
of the requested one shows. (tests/pipelines/test_training_pipeline.py checks the ZenML step in a run.)
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow  # a 2-step training of the tiny pipeline model, then two 4-step rollouts

REQUESTED = "button-press-topdown-v3"  # not in the tiny dataset (reach-v3 only)


@pytest.fixture(scope="module")
def reach_bundle(tiny_pipeline_parameters, tmp_path_factory):
    from librobot.config import load_config
    from librobot.training.run import train

    params = tiny_pipeline_parameters["parameters"]
    cfg = load_config(params["experiment"], [*params["overrides"], f"data.path={params['dataset_path']}"])
    return train(cfg, tmp_path_factory.mktemp("tasks") / "bundle")


def _settings(**kwargs):
    return {"tasks": [REQUESTED], "max_steps": 4, "execute_steps": 4, "videos_per_task": 0, "offline": False, **kwargs}


def test_library_evaluates_only_the_tasks_the_settings_ask_for(reach_bundle, tmp_path):
    from librobot.evaluation.run import evaluate

    assert json.loads((reach_bundle / "metadata.json").read_text())["tasks"] == ["reach-v3"]
    report = evaluate(reach_bundle, tmp_path / "eval", episodes=1, overrides=_settings(), record_in_bundle=False)
    assert list(report["per_task"]) == [REQUESTED] and report["episodes"] == 1
    # an explicit tasks argument (the CLI's --tasks) still wins over the settings
    report = evaluate(reach_bundle, tmp_path / "cli", tasks=["reach-v3"], overrides=_settings(), record_in_bundle=False)
    assert list(report["per_task"]) == ["reach-v3"]


def test_kubeflow_evaluate_component_honours_evaluation_tasks(reach_bundle, tmp_path):
    from kfp.dsl import Artifact, Metrics, Model

    from librobot.kubeflow_pipeline import evaluate

    def artifact(kind, name):
        return kind(name=name, uri=str(tmp_path / name), metadata={})

    report = artifact(Artifact, "report.json")
    # KFP hands dict parameters over as protobuf Structs: every number a float
    evaluate.python_func(
        bundle=Model(name="bundle", uri=str(reach_bundle), metadata={}),
        episodes_per_task=1,
        settings=_settings(max_steps=4.0, execute_steps=4.0, videos_per_task=0.0),
        evaluated=artifact(Model, "evaluated"),
        metrics=artifact(Metrics, "metrics"),
        report=report,
    )
    result = json.loads((tmp_path / "report.json").read_text())
    assert list(result["per_task"]) == [REQUESTED] and result["episodes"] == 1
