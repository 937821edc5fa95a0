"""The bundle's contract as types: normalization.json is a PolicySpec, metadata.json a BundleMetadata.

A missing or unknown key fails with the file and the key; bundles written before the optional keys
existed still load; every stage's writes go through the typed records.
"""

from __future__ import annotations

import json
import shutil

import pytest

from librobot.bundle import METADATA_FILE, NORMALIZATION_FILE, load_bundle, update_metadata
from librobot.choices import ActionRepresentation
from librobot.policy_spec import BundleError, BundleMetadata, PolicySpec
from tests.helpers.tiny_bundle import make_bundle


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("spec"))


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path):
    return shutil.copytree(tiny_bundle, tmp_path / "bundle")


def _edit(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_spec_round_trips_and_is_what_every_consumer_reads(tiny_bundle):
    bundle = load_bundle(tiny_bundle, with_model=False)
    spec = bundle.spec
    assert PolicySpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict() == json.loads((tiny_bundle / NORMALIZATION_FILE).read_text())
    assert (bundle.robot, bundle.cameras, bundle.action_horizon) == (
        spec.robot,
        list(spec.cameras),
        spec.action_horizon,
    )
    assert spec.action_representation is ActionRepresentation.ABSOLUTE
    assert "state_source" not in spec.served() and PolicySpec.from_served({**spec.served(), "runtime": "onnx"}) == spec


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("obs_horizon"), r"normalization.json: missing keys \['obs_horizon'\]"),
        (lambda d: d.update(action_horizon_steps=16), r"normalization.json: unknown keys \['action_horizon_steps'\]"),
        (lambda d: d.update(action_horizon=0), r"normalization.json: action_horizon must be a positive integer; got 0"),
        (lambda d: d.update(cameras="front"), r"normalization.json: cameras must be a list of camera names"),
        (lambda d: d.update(action_representation="delta_ee"), r"action_representation: .*absolute, delta, relative"),
    ],
    ids=["missing", "unknown", "horizon", "cameras", "representation"],
)
def test_a_wrong_key_fails_on_load_with_the_file_and_the_key(bundle_copy, edit, message):
    _edit(bundle_copy / NORMALIZATION_FILE, edit)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy, with_model=False)


def test_a_bundle_from_before_the_optional_keys_still_loads(bundle_copy):
    def old(data):
        data.pop("image_shape", None)
        data.pop("action_representation", None)

    _edit(bundle_copy / NORMALIZATION_FILE, old)
    spec = load_bundle(bundle_copy, with_model=True).spec
    assert spec.image_shape == () and spec.action_representation == "absolute"


def test_metadata_fields_are_typed_on_read_and_on_every_update(bundle_copy):
    with pytest.raises(BundleError, match=r"metadata.json has no field \['eval_metric'\]"):
        update_metadata(bundle_copy, eval_metric={"success_rate": 1.0})  # a typo cannot become a new key
    update_metadata(bundle_copy, eval_metrics={"success_rate": 0.5}, model_version="policy:3")
    meta = BundleMetadata.from_dict(json.loads((bundle_copy / METADATA_FILE).read_text()))
    assert meta.eval_metrics == {"success_rate": 0.5} and meta.model_version == "policy:3"
    _edit(bundle_copy / METADATA_FILE, lambda d: d.update(exported=True))
    with pytest.raises(BundleError, match=r"metadata.json: unknown keys \['exported'\]"):
        load_bundle(bundle_copy, with_model=False)
