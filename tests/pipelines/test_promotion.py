"""Promotion: a new version replaces production only when better by the margin, and says why."""

from __future__ import annotations

import uuid

import pytest

from librobot.promotion import PromotionPolicy, decide_promotion

POLICY = PromotionPolicy(stage="production", margin=0.05)


def test_first_version_is_promoted_when_it_meets_the_minimum():
    decision = decide_promotion(0.4, None, PromotionPolicy(min_success_rate=0.3))
    assert decision.promoted and decision.stage == "production"
    assert "no production version yet" in decision.reason
    assert not decide_promotion(0.2, None, PromotionPolicy(min_success_rate=0.3)).promoted


def test_better_by_the_margin_is_promoted():
    decision = decide_promotion(0.80, 0.70, POLICY, production_version="3")
    assert decision.promoted and decision.stage == "production"
    assert "beats production 3 (0.700) by +0.100" in decision.reason


@pytest.mark.parametrize("candidate", [0.50, 0.70, 0.74])
def test_worse_equal_or_not_enough_better_is_not_promoted(candidate):
    decision = decide_promotion(candidate, 0.70, POLICY, production_version="3")
    assert not decision.promoted and decision.stage is None
    assert "not better by the margin 0.050" in decision.reason


def test_zero_margin_still_needs_a_strict_gain():
    policy = PromotionPolicy(margin=0.0)
    assert not decide_promotion(0.7, 0.7, policy).promoted  # a rerun of the same model changes nothing
    assert decide_promotion(0.71, 0.7, policy).promoted


def test_failed_gate_blocks_promotion():
    # a gate of the model itself; int8 is never one (test_records_carry_the_quantization_notes)
    decision = decide_promotion(0.9, 0.1, POLICY, gate_failures=["fp32 ONNX parity"])
    assert not decision.promoted and "gates failed: fp32 ONNX parity" in decision.reason


def test_bad_policy_is_refused():
    with pytest.raises(ValueError, match="promotion.stage must be one of staging, production; got 'prod'"):
        PromotionPolicy(stage="prod")
    with pytest.raises(ValueError, match="promotion.margin"):
        PromotionPolicy(margin=1.5)


def test_model_control_plane_stages_follow_the_rule_both_ways():
    """On a real (isolated) ZenML store: v1 -> production; worse v2 stays; better v3 takes over."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    from librobot.promotion import SUCCESS_KEY, production_success, promote_model_version

    client = Client()
    name = f"policy_{uuid.uuid4().hex[:8]}"
    client.create_model(name=name)
    for version in ("v1", "v2", "v3"):
        client.create_model_version(model_name_or_id=name, name=version)

    assert production_success(name) == (None, None)
    first = promote_model_version(name, "v1", 0.6, POLICY)
    assert first.promoted and production_success(name) == ("v1", 0.6)

    worse = promote_model_version(name, "v2", 0.5, POLICY)
    assert not worse.promoted
    v2 = client.get_model_version(name, "v2")
    assert v2.stage is None
    assert v2.run_metadata["promotion"]["reason"] == worse.reason  # why it was not promoted is on record
    assert v2.run_metadata[SUCCESS_KEY] == 0.5

    better = promote_model_version(name, "v3", 0.7, POLICY)
    assert better.promoted and better.production_version == "v1"
    assert client.get_model_version(name, ModelStages.PRODUCTION).name == "v3"
    assert client.get_model_version(name, "v1").stage == ModelStages.ARCHIVED.value


def test_registry_promotion_without_zenml_records_every_decision(tmp_path):
    """The Kubeflow pipeline's registry: production.json moves only for a better bundle."""
    import json

    from librobot.promotion import promote_in_registry

    registry = tmp_path / "registry"
    bundles = {}
    for name in ("run-1", "run-2", "run-3"):
        bundles[name] = tmp_path / name
        bundles[name].mkdir()
        (bundles[name] / "metadata.json").write_text(json.dumps({"run": name}))

    assert promote_in_registry(registry, bundles["run-1"], "run-1", 0.5, POLICY).promoted
    assert not promote_in_registry(registry, bundles["run-2"], "run-2", 0.52, POLICY).promoted  # < margin
    assert promote_in_registry(registry, bundles["run-3"], "run-3", 0.6, POLICY).promoted

    production = json.loads((registry / "production.json").read_text())
    assert production["version"] == "run-3" and production["success_rate"] == 0.6
    assert json.loads((registry / "versions" / "run-3" / "metadata.json").read_text()) == {"run": "run-3"}
    assert not (registry / "versions" / "run-2").exists()
    decisions = [json.loads(line) for line in (registry / "decisions.jsonl").read_text().splitlines()]
    assert [d["promoted"] for d in decisions] == [True, False, True]
    assert decisions[1]["production_version"] == "run-1" and "not better by the margin" in decisions[1]["reason"]


def test_default_minimum_refuses_a_policy_no_better_than_chance():
    """min_success_rate defaults to 0.2: a 0% (or random-policy-like) model is never promoted or packaged."""
    from librobot.promotion import MIN_SUCCESS_RATE

    default = PromotionPolicy()
    assert default.min_success_rate == MIN_SUCCESS_RATE == 0.2
    for chance_level in (0.0, 0.05, 0.15):
        decision = decide_promotion(chance_level, None, default)
        assert not decision.promoted and "below the minimum 0.200" in decision.reason
    assert decide_promotion(0.85, None, default).promoted
    assert not decide_promotion(
        0.1, 0.0, PromotionPolicy(margin=0.0)
    ).promoted  # beating a bad production is not enough
    with pytest.raises(ValueError, match="promotion.min_success_rate"):
        PromotionPolicy(min_success_rate=20)


def test_both_orchestrators_take_the_default_rule_from_one_place():
    from pathlib import Path

    import yaml

    from librobot.kubeflow_pipeline import training_pipeline as kfp_pipeline
    from librobot.pipeline_ops import DEFAULT_PROMOTION

    assert PromotionPolicy.defaults() == DEFAULT_PROMOTION
    kfp_default = kfp_pipeline.pipeline_spec.root.input_definitions.parameters["promotion"].default_value
    assert dict(kfp_default.struct_value) == PromotionPolicy.defaults()
    root = Path(__file__).resolve().parents[2]
    for name in ("default", "wheel_loader"):  # the shipped pipeline configs leave the minimum to the default
        config = yaml.safe_load((root / "configs" / "pipelines" / f"{name}.yaml").read_text())
        assert "min_success_rate" not in config["parameters"]["promotion"], name


def test_records_carry_the_quantization_notes(tmp_path):
    """A rejected int8 graph does not block promotion; the decision records why and what is served."""
    import json

    from zenml.client import Client

    from librobot.promotion import promote_in_registry, promote_model_version

    notes = {"runtime": "onnx", "int8_rejected": "int8 graph misses its gate: worst-sample cosine 0.1"}
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    decision = promote_in_registry(tmp_path / "registry", bundle, "run-1", 0.85, POLICY, notes=notes)
    assert decision.promoted
    production = json.loads((tmp_path / "registry" / "production.json").read_text())
    assert production["runtime"] == "onnx" and production["int8_rejected"] == notes["int8_rejected"]
    (entry,) = [json.loads(line) for line in (tmp_path / "registry" / "decisions.jsonl").read_text().splitlines()]
    assert entry["promoted"] and entry["int8_rejected"] == notes["int8_rejected"]

    client = Client()
    name = f"policy_{uuid.uuid4().hex[:8]}"
    client.create_model(name=name)
    client.create_model_version(model_name_or_id=name, name="v1")
    assert promote_model_version(name, "v1", 0.85, POLICY, notes=notes).promoted
    record = client.get_model_version(name, "v1").run_metadata["promotion"]
    assert record["promoted"] and record["int8_rejected"] == notes["int8_rejected"] and record["runtime"] == "onnx"
