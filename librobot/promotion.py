"""Model promotion: a new model version replaces production only when it is measurably better.

``decide_promotion`` is the rule (pure, tested both ways). ``promote_model_version`` applies it to
ZenML's Model Control Plane: it reads the closed-loop success rate recorded on the current
production version, sets the candidate's stage when the rule says so, and records the decision
(with its reason) as metadata on the candidate either way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STAGES = ("staging", "production")
SUCCESS_KEY = "closed_loop_success_rate"  # model-version metadata every evaluated version carries


@dataclass
class PromotionPolicy:
    stage: str = "production"  # the stage a better candidate is moved to
    margin: float = 0.02  # success-rate points the candidate must gain over production
    min_success_rate: float = 0.0  # a first version must reach at least this to be promoted

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"promotion.stage is {self.stage!r}; expected one of {STAGES}")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"promotion.margin is {self.margin}; expected a success-rate difference in [0, 1]")


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
    pipeline leaves production alone. ``gate_failures`` (e.g. a failed int8 parity gate) block it.
    """
    common = {
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
    return str(version.name), None if value is None else float(value)


def promote_model_version(
    model_name: str,
    version: str,
    candidate_success: float,
    policy: PromotionPolicy,
    gate_failures: list[str] | None = None,
) -> PromotionDecision:
    """Apply ``decide_promotion`` to ``model_name``'s ``version`` in ZenML; record the decision on it."""
    from zenml.client import Client

    client = Client()
    prod_version, prod_success = production_success(model_name)
    if prod_version == str(version):  # the candidate already is production (a retried step)
        prod_version, prod_success = None, None
    decision = decide_promotion(candidate_success, prod_success, policy, prod_version, gate_failures)
    candidate = client.get_model_version(model_name, version)
    if decision.promoted:
        candidate.set_stage(decision.stage, force=True)  # force: the previous holder is archived
    from zenml import log_metadata

    log_metadata(
        metadata={"promotion": decision.to_dict(), SUCCESS_KEY: float(candidate_success)},
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
) -> PromotionDecision:
    """The same rule where there is no ZenML server (the Kubeflow pipeline): a registry directory.

    ``<registry>/production.json`` names the production version and its success rate; a promoted
    bundle is copied to ``<registry>/versions/<version>/``; every decision is appended to
    ``<registry>/decisions.jsonl``.
    """
    import datetime as dt
    import shutil

    from librobot.checkpoint import write_text_atomic

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
        }
        write_text_atomic(current_file, json.dumps(record, indent=2))
    entry = {"time": dt.datetime.now(dt.UTC).isoformat(), "version": version, **decision.to_dict()}
    with open(registry / HISTORY_FILE, "a") as f:
        f.write(json.dumps(entry) + "\n")
    return decision
