"""Contract: a bundle whose normalization.json would make the policy act wrongly (NaN actions, no clipping)
is refused on load, by every consumer, with the file, the key and what was expected."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from librobot.bundle import NORMALIZATION_FILE, BundleError, load_bundle, read_json
from librobot.inference.policy import Policy
from tests.helpers.tiny_bundle import make_bundle


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("checked"))


@pytest.fixture
def corrupt(tiny_bundle, tmp_path):
    """A copy of the tiny bundle with ``edit(normalization)`` applied to its normalization.json."""

    def apply(edit):
        bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
        path = bundle / NORMALIZATION_FILE
        data = json.loads(path.read_text())
        edit(data)
        path.write_text(json.dumps(data))  # json writes NaN/Infinity as a corrupted file would hold them
        return bundle

    return apply


def set_stat(feature, key, index, value):
    def edit(data):
        data["normalizer"][feature]["stats"][key][index] = value

    return edit


def test_the_untouched_bundle_loads(tiny_bundle):
    assert load_bundle(tiny_bundle, with_model=False).robot.name == "so100_arm"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (set_stat("action", "std", 2, math.nan), r"action stats std\[2\] \(elbow_flex.pos\) is nan; expected a finite"),
        (set_stat("observation.state", "mean", 0, math.inf), r"observation.state stats mean\[0\] .* is inf"),
        (set_stat("action", "std", 1, -0.5), r"action stats std\[1\] \(shoulder_lift.pos\) is -0.5; expected >= 0"),
        (set_stat("action", "min", 0, 1e6), r"action stats min\[0\] \(shoulder_pan.pos\) is 1000000.0, above max"),
        (set_stat("action", "std", 3, 0.0), r"action stats std\[3\] .* expected std > 0 for a feature that varies"),
    ],
    ids=["nan", "inf", "negative-std", "min-above-max", "zero-std"],
)
def test_corrupted_stats_are_refused_naming_file_and_key(corrupt, edit, message):
    bundle = corrupt(edit)
    with pytest.raises(BundleError, match=message) as err:
        load_bundle(bundle, with_model=False)
    assert str(bundle / NORMALIZATION_FILE) in str(err.value)


def test_normalizer_names_must_be_the_robots(corrupt):
    def drop_a_dim(data):
        action = data["normalizer"]["action"]
        action["names"] = action["names"][:-1]
        action["stats"] = {k: v[:-1] for k, v in action["stats"].items()}

    with pytest.raises(BundleError, match=r"normalizer.action.names has 5 names .* expected the 6 action names"):
        load_bundle(corrupt(drop_a_dim), with_model=False)


def test_widened_action_bounds_are_refused_for_every_consumer(corrupt):
    def widen(data):
        data["robot"]["action"][2]["high"] = 1000.0

    bundle = corrupt(widen)
    expected = r"robot.action\[2\] \(elbow_flex.pos\) bounds are \[-100.0, 1000.0\]; robot 'so100_arm' declares \[-100.0, 100.0\]"
    with pytest.raises(BundleError, match=expected):
        Policy.from_bundle(bundle, runtime="torch")
    with pytest.raises(BundleError, match=expected):  # the BentoML package reads the file through read_json
        read_json(bundle, NORMALIZATION_FILE)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (("-inf", 100.0), r"robot.action\[0\] \(shoulder_pan.pos\) bounds are \[-inf, 100.0\]; expected finite"),
        ((50.0, -50.0), r"robot: feature 'shoulder_pan.pos': low 50.0 is above high -50.0"),
        ((math.nan, 100.0), r"robot: feature 'shoulder_pan.pos': low nan"),
    ],
    ids=["unbounded", "low-above-high", "nan"],
)
def test_broken_robot_bounds_are_refused(corrupt, bounds, message):
    def edit(data):
        data["robot"]["action"][0]["low"], data["robot"]["action"][0]["high"] = bounds

    with pytest.raises(BundleError, match=message):
        load_bundle(corrupt(edit), with_model=False)


def _edit_config(tiny_bundle, tmp_path, edit):
    import yaml

    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    path = bundle / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    edit(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return bundle


def test_the_config_loads_as_the_typed_experiment_config(tiny_bundle):
    from librobot.config import ExperimentConfig
    from librobot.training.config import TrainingConfig

    cfg = load_bundle(tiny_bundle, with_model=False).cfg
    assert isinstance(cfg, ExperimentConfig) and isinstance(cfg.training, TrainingConfig)


def test_keys_an_older_librobot_wrote_are_dropped_with_a_warning(tiny_bundle, tmp_path, caplog):
    def edit(cfg):
        cfg["training"]["retired_option"] = 3
        cfg["model"]["action_head"]["retired_head_option"] = True

    bundle = _edit_config(tiny_bundle, tmp_path, edit)
    with caplog.at_level("WARNING"):
        loaded = load_bundle(bundle)
    assert loaded.model is not None
    assert "training.retired_option" in caplog.text and "model.action_head.retired_head_option" in caplog.text


def test_a_config_value_of_the_wrong_type_is_refused_naming_file_and_key(tiny_bundle, tmp_path):
    bundle = _edit_config(tiny_bundle, tmp_path, lambda cfg: cfg["data"].update(action_horizon="long"))
    with pytest.raises(BundleError, match=r"config\.yaml.*data\.action_horizon"):
        load_bundle(bundle, with_model=False)
