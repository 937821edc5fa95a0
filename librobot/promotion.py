"""Model promotion: a new model version replaces production only when it is measurably better.

``decide_promotion`` is the rule (pure, tested both ways). ``promote_model_version`` applies it to
ZenML's Model Control Plane: it reads the closed-loop success rate recorded on the current
production version, sets the candidate's stage when the rule says so, and records the decision
(with its reason) as metadata on the candidate either way.

The rule judges the fp32 policy. Quantization is an optional optimisation and never decides
whether a model is promoted: a rejected int8 graph is deleted, the package serves fp32, and the
record says why (``notes``, e.g. ``{"runtime": "onnx", "int8_rejected": "..."}``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from librobot.checkpoint import write_text_atomic
from librobot.choices import PromotionStage

SUCCESS_KEY = "closed_loop_success_rate"  # model-version metadata every evaluated version carries

# The default minimum closed-loop success any version needs to be promoted (the one place it is
# set: both orchestrators take their default from PromotionPolicy). A uniform random policy
# succeeded in 3 of 80 default MetaWorld rollouts (3.75%; drawer-close 3/20, the others 0/20;
# docs/pipeline.md), and with the pipeline's 5 episodes x 4 tasks one lucky episode is 5%: 20%
# (4 of 20) is clearly better than chance yet far below a trained policy (85% on the default
# experiment), so a model that learned nothing never ships.
MIN_SUCCESS_RATE = 0.2


@dataclass
class PromotionPolicy:
    stage: str = "production"  # the stage a better candidate is moved to
    margin: float = 0.02  # success-rate points the candidate must gain over production
    min_success_rate: float = MIN_SUCCESS_RATE  # any version must reach at least this to be promoted

    def __post_init__(self) -> None:
        PromotionStage.parse(self.stage, "promotion.stage")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"promotion.margin is {self.margin}; expected a success-rate difference in [0, 1]")
        if not 0.0 <= self.min_success_rate <= 1.0:
            raise ValueError(f"promotion.min_success_rate is {self.min_success_rate}; expected a rate in [0, 1]")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The default rule as a plain dict: what the pipelines merge their ``promotion`` parameter over."""
        return asdict(cls())


@dataclass
class PromotionDecision:
    promoted: bool
    stage: str | None  # the stage set on the candidate, None when not promoted
    candidate_success: float
    production_success: float | None
    production_version: str | None
    margin: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_promotion(
    candidate_success: float,
    production_success: float | None,
    policy: PromotionPolicy,
    production_version: str | None = None,
    gate_failures: list[str] | None = None,
) -> PromotionDecision:
    """Promote when there is no production version yet, or when the candidate beats it by the margin.

    "Better" is strict: an equal success rate never replaces production, so rerunning an unchanged
    pipeline leaves production alone. ``gate_failures`` (gates of the model being promoted) block it;
    an optional optimisation such as int8 is never one of them (see the module docstring).
    """
    common: dict[str, Any] = {
        "candidate_success": float(candidate_success),
        "production_success": None if production_success is None else float(production_success),
        "production_version": production_version,
        "margin": policy.margin,
    }

    def no(reason: str) -> PromotionDecision:
        return PromotionDecision(promoted=False, stage=None, reason=reason, **common)

    def yes(reason: str) -> PromotionDecision:
        return PromotionDecision(promoted=True, stage=policy.stage, reason=reason, **common)

    if gate_failures:
        return no(f"not promoted: gates failed: {'; '.join(gate_failures)}")
    if candidate_success < policy.min_success_rate:
        return no(
            f"not promoted: closed-loop success {candidate_success:.3f} is below the minimum "
            f"{policy.min_success_rate:.3f}"
        )
    if production_success is None:
        return yes(f"promoted to {policy.stage}: no production version yet; success {candidate_success:.3f}")
    gain = candidate_success - production_success
    if gain > 0 and gain >= policy.margin:
        return yes(
            f"promoted to {policy.stage}: success {candidate_success:.3f} beats production "
            f"{production_version or ''} ({production_success:.3f}) by {gain:+.3f} >= margin {policy.margin:.3f}"
        )
    return no(
        f"not promoted: success {candidate_success:.3f} vs production {production_version or ''} "
        f"{production_success:.3f} ({gain:+.3f}) is not better by the margin {policy.margin:.3f}"
    )


def production_success(model_name: str) -> tuple[str | None, float | None]:
    """(version name, closed-loop success) of the model's production version; (None, None) if none."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        version = Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None, None
    value = version.run_metadata.get(SUCCESS_KEY)
    return str(version.name), None if value is None else float(value)  # type: ignore[arg-type]  # a number we logged


def promote_model_version(
    model_name: str,
    version: str,
    candidate_success: float,
    policy: PromotionPolicy,
    gate_failures: list[str] | None = None,
    notes: dict[str, Any] | None = None,
) -> PromotionDecision:
    """Apply ``decide_promotion`` to ``model_name``'s ``version`` in ZenML; record the decision on it.

    ``notes`` (e.g. the served runtime and why int8 was rejected) are recorded with the decision.
    """
    from zenml.client import Client

    client = Client()
    prod_version, prod_success = production_success(model_name)
    if prod_version == str(version):  # the candidate already is production (a retried step)
        prod_version, prod_success = None, None
    decision = decide_promotion(candidate_success, prod_success, policy, prod_version, gate_failures)
    candidate = client.get_model_version(model_name, version)
    if decision.promoted and decision.stage:
        candidate.set_stage(decision.stage, force=True)  # force: the previous holder is archived
    from zenml import log_metadata

    log_metadata(
        metadata={"promotion": {**decision.to_dict(), **(notes or {})}, SUCCESS_KEY: float(candidate_success)},
        model_name=model_name,
        model_version=str(version),
    )
    return decision


PRODUCTION_FILE = "production.json"
HISTORY_FILE = "decisions.jsonl"


def promote_in_registry(
    registry: str | Path,
    bundle_dir: str | Path,
    version: str,
    candidate_success: float,
    policy: PromotionPolicy,
    gate_failures: list[str] | None = None,
    notes: dict[str, Any] | None = None,
) -> PromotionDecision:
    """The same rule where there is no ZenML server (the Kubeflow pipeline): a registry directory.

    ``<registry>/production.json`` names the production version and its success rate; a promoted
    bundle is copied to ``<registry>/versions/<version>/``; every decision (with ``notes``) is
    appended to ``<registry>/decisions.jsonl``.
    """
    import datetime as dt
    import shutil

    registry = Path(registry)
    registry.mkdir(parents=True, exist_ok=True)
    current_file = registry / PRODUCTION_FILE
    current = json.loads(current_file.read_text()) if current_file.is_file() else {}
    decision = decide_promotion(
        candidate_success, current.get("success_rate"), policy, current.get("version"), gate_failures
    )
    if decision.promoted:
        target = registry / "versions" / version
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(bundle_dir, target)
        record = {
            "version": version,
            "success_rate": float(candidate_success),
            "bundle": str(target),
            "stage": decision.stage,
            **(notes or {}),
        }
        write_text_atomic(current_file, json.dumps(record, indent=2))
    entry = {"time": dt.datetime.now(dt.UTC).isoformat(), "version": version, **decision.to_dict(), **(notes or {})}
    with open(registry / HISTORY_FILE, "a") as f:
        f.write(json.dumps(entry) + "\n")
    return decision
