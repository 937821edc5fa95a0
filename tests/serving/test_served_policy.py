"""The service's act in process, on a runtime that breaks on purpose: non-finite actions never reach JSON."""

import asyncio
import json

import numpy as np
import pytest

from librobot.inference.observation import ObservationError
from librobot.inference.policy import Policy
from librobot.policy_spec import PolicySpec
from librobot.serving.batcher import MicroBatcher
from librobot.serving.payload import Observation, set_spec
from librobot.serving.served_policy import prepare, run_prepared
from librobot.serving.service import PolicyService
from tests.helpers.serving import answered_chunks, encode
from tests.helpers.tiny_bundle import observation


class BreakingRuntime:
    """Zeros, except NaN for the instruction "nan" and inf for "inf"; raises for "raise"."""

    name = "breaking"

    def samples(self) -> bool:
        return True

    def run(self, images, state, instructions, noise):
        if "raise" in instructions:
            raise RuntimeError("this input breaks the graph")
        out = np.zeros((len(images), 4, 6), np.float32)
        for i, text in enumerate(instructions):
            if text in ("nan", "inf"):
                out[i] = float(text)
        return out


@pytest.fixture
def service(exported_bundle):
    normalization = json.loads((exported_bundle / "normalization.json").read_text())
    policy = Policy(BreakingRuntime(), PolicySpec.from_dict(normalization))
    set_spec(policy.spec)
    svc = object.__new__(PolicyService.inner)
    svc.policy = policy
    svc.batcher = MicroBatcher(lambda items: run_prepared(policy, items), 64)
    return svc


def request(instruction: str, seed: int) -> list[Observation]:
    obs = observation(np.random.default_rng(seed))
    return [Observation(**{**encode(obs, seed=seed), "instruction": instruction})]


def test_non_finite_actions_fail_only_their_own_request_with_422(service):
    act = PolicyService.apis["act"].func

    async def together():
        texts = ["ok", "nan", "ok", "inf", "raise", "ok"]
        return await asyncio.gather(*(act(service, request(t, i)) for i, t in enumerate(texts)))

    ok, nan, ok2, inf, raised, ok3 = asyncio.run(together())
    for answer in (ok, ok2, ok3):
        assert np.isfinite(answered_chunks(answer)[0]).all()
    for refused in (nan, inf):  # inf would have been clipped to a bound: refused too
        assert refused.status_code == 422
        assert b"non-finite actions" in refused.body and b"normalized units" in refused.body
    assert raised.status_code == 500 and b"the model failed on this request" in raised.body


def test_a_state_too_far_outside_the_training_range_is_refused_before_the_model(service):
    obs = request("ok", 0)[0]
    checked = obs.check()
    checked.state[0, 0, 2] = 3.0e38  # finite in float32, absurd after normalization
    with pytest.raises(ObservationError, match="'elbow_flex.pos' = 3e\\+38"):
        prepare(service.policy, checked, seed=0)
