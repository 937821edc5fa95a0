"""The service's act in process on both bundle layouts: concurrent requests with different instructions
are batched together, and each gets the chunk it gets alone (the text graph's cache is keyed by token
ids, so a neighbour's instruction never leaks into another request's features)."""

import asyncio
import json

import numpy as np
import pytest

from librobot.serving.batcher import MicroBatcher
from librobot.serving.package import package_metadata
from librobot.serving.payload import Observation, set_spec
from librobot.serving.served_policy import load_served_policy, run_prepared
from librobot.serving.service import PolicyService
from tests.helpers.serving import answered_chunks, encode
from tests.helpers.tiny_bundle import INSTRUCTIONS, observation

pytestmark = pytest.mark.numeric
TEXTS = [INSTRUCTIONS[0], "put the cube back where it was", INSTRUCTIONS[1]]


def service_for(bundle):
    """The service object as BentoML builds it, on ``bundle/onnx`` laid out as a packaged model."""
    read = lambda name: json.loads((bundle / name).read_text())  # noqa: E731
    meta = package_metadata(bundle, read("normalization.json"), read("metadata.json"), "onnx")
    policy = load_served_policy(bundle / "onnx", meta, runtime="onnx")
    set_spec(policy.spec)
    batches = []

    def run(items):
        batches.append([item.instruction for item in items])
        return run_prepared(policy, items)

    svc = object.__new__(PolicyService.inner)
    svc.policy = policy
    svc.batcher = MicroBatcher(run, 64)
    return svc, batches


def request(i: int) -> list[Observation]:
    obs = observation(np.random.default_rng(100 + i))
    return [Observation(**{**encode(obs, seed=i), "instruction": TEXTS[i % len(TEXTS)]})]


@pytest.mark.parametrize("layout", ["split", "single_graph"])
def test_concurrent_requests_with_different_instructions_get_their_own_chunks(
    layout, exported_bundle, single_graph_bundle
):
    svc, batches = service_for(exported_bundle if layout == "split" else single_graph_bundle)
    act = PolicyService.apis["act"].func
    n = 9

    async def together():
        return await asyncio.gather(*(act(svc, request(i)) for i in range(n)))

    async def alone():
        return [await act(svc, request(i)) for i in range(n)]

    batched = asyncio.run(together())
    assert any(len(set(texts)) > 1 for texts in batches), batches  # instructions mixed in one model call
    singles = asyncio.run(alone())
    for got, want in zip(batched, singles, strict=True):
        np.testing.assert_allclose(answered_chunks(got)[0], answered_chunks(want)[0], atol=1e-5)
    text = svc.policy.runtime.text
    if layout == "split":  # three instructions: three text rows computed, every other request a cache hit
        assert text.misses == 3 and text.hits == 2 * n - 3
    else:
        assert text is None  # the old graph encodes its instruction inside, every call
