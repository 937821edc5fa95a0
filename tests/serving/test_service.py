"""A real `bentoml serve` of a packaged tiny policy: act, metadata, 4xx on bad input, auth."""

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from librobot.inference.policy import Policy
from librobot.serving.batcher import DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_BATCH
from tests.helpers.serving import AUTH, encode
from tests.helpers.tiny_bundle import CAMERAS, HW, INSTRUCTIONS, observation


def act(url, payload, headers=AUTH, **kw):
    return httpx.post(f"{url}/act", json={"observations": payload}, headers=headers, timeout=120, **kw)


def test_act_returns_the_library_policy_chunk_in_robot_units(server, exported_bundle):
    rng = np.random.default_rng(5)
    obs = [observation(rng) for _ in range(2)]
    resp = act(server, [encode(o, seed=i) for i, o in enumerate(obs)])
    assert resp.status_code == 200, resp.text
    chunks = np.array([item["actions"] for item in resp.json()])
    assert chunks.shape == (2, 4, 6)
    local = Policy.from_bundle(exported_bundle, runtime="onnx-int8", threads=1)
    for i, o in enumerate(obs):
        np.testing.assert_allclose(chunks[i], local.act(o, seed=i), atol=1e-4)


def test_concurrent_requests_are_batched_without_mixing_results(server):
    rng = np.random.default_rng(6)
    payloads = [[encode(observation(rng), seed=i)] for i in range(6)]
    alone = [np.array(act(server, p).json()[0]["actions"]) for p in payloads]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda p: act(server, p), payloads))
    for resp, expected in zip(together, alone, strict=True):
        assert resp.status_code == 200
        np.testing.assert_allclose(np.array(resp.json()[0]["actions"]), expected, atol=1e-5)


def test_concurrent_requests_with_different_instructions_get_their_own_chunks(server, exported_bundle):
    """The served graph takes the instruction's features from a cached text graph: a batch that mixes
    instructions must still give each request the chunk of its own instruction."""
    rng = np.random.default_rng(8)
    texts = [INSTRUCTIONS[0], "put the cube back where it was", INSTRUCTIONS[1]] * 2
    obs = [{**observation(rng), "instruction": t} for t in texts]
    with ThreadPoolExecutor(len(obs)) as pool:
        together = list(pool.map(lambda i: act(server, [encode(obs[i], seed=i)]), range(len(obs))))
    local = Policy.from_bundle(exported_bundle, runtime="onnx-int8", threads=1)
    for i, resp in enumerate(together):
        assert resp.status_code == 200, resp.text
        np.testing.assert_allclose(np.array(resp.json()[0]["actions"]), local.act(obs[i], seed=i), atol=1e-4)


def test_metadata_carries_the_bundle_normalization_and_versions(server, exported_bundle):
    resp = httpx.post(f"{server}/metadata", json={}, headers=AUTH, timeout=30)
    assert resp.status_code == 200
    meta = resp.json()
    normalization = json.loads((exported_bundle / "normalization.json").read_text())
    assert meta["normalizer"] == normalization["normalizer"]
    assert meta["robot"] == normalization["robot"]
    assert meta["cameras"] == list(CAMERAS) and meta["image_shape"] == [3, *HW]
    assert meta["action_horizon"] == 4 and meta["obs_horizon"] == 1
    assert meta["dataset_md5"] == "0123abcd" and meta["model_version"]
    assert meta["served_runtime"] == "onnx-int8" and meta["export_parity"]["int8"]["passed"]
    assert meta["batching"] == {"max_batch": DEFAULT_MAX_BATCH, "max_wait_ms": DEFAULT_BATCH_WAIT_MS}


def test_metrics_show_each_model_call_and_queue_wait(server):
    assert act(server, [encode(observation(np.random.default_rng(8)), seed=0)]).status_code == 200
    metrics = httpx.get(f"{server}/metrics", timeout=30).text
    for name in (
        "librobot_batch_rows_count",
        "librobot_model_call_seconds_count",
        "librobot_model_cpu_seconds_total",
        "librobot_queue_wait_seconds_count",
    ):
        assert name in metrics


def _bad_requests():
    rng = np.random.default_rng(7)
    good = encode(observation(rng))
    missing_cam = {**good, "images": {"front": good["images"]["front"]}}
    float_img = {**good, "images": {**good["images"], "front": np.full((*HW, 3), 0.5).tolist()}}
    short_b64 = {**good, "images": {**good["images"], "wrist": base64.b64encode(b"abc").decode()}}
    return [
        ("state_dim", [{**good, "state": good["state"][:7]}], 400, "observation.state has 7 values"),
        ("missing_camera", [missing_cam], 400, "missing camera 'wrist'"),
        ("float_image", [float_img], 400, "expected integers 0..255"),
        ("short_image", [short_b64], 400, "decodes to 3 bytes"),
        ("state_shape", [{**good, "state": [[[1.0] * 12]]}], 400, "state"),
        ("empty", [], 400, "at least 1 item"),
        ("unknown_field", [{**good, "actions": [1]}], 400, "actions"),
    ]


@pytest.mark.parametrize(
    ("name", "payload", "status", "message"), _bad_requests(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_bad_requests_get_a_4xx_naming_the_problem_and_the_server_keeps_serving(server, name, payload, status, message):
    resp = act(server, payload)
    assert resp.status_code == status, resp.text
    assert message in resp.text
    good = act(server, [encode(observation(np.random.default_rng(0)))])
    assert good.status_code == 200


def test_nan_state_is_refused(server):
    obs = encode(observation(np.random.default_rng(8)))
    obs["state"][3] = float("nan")
    body = json.dumps({"observations": [obs]})  # json writes NaN, which pydantic reads
    resp = httpx.post(f"{server}/act", content=body, headers={**AUTH, "content-type": "application/json"}, timeout=60)
    assert resp.status_code == 400 and "NaN or inf" in resp.text and "wrist_flex.pos" in resp.text


def test_requests_without_the_right_token_get_401_and_health_stays_open(server):
    obs = [encode(observation(np.random.default_rng(9)))]
    assert act(server, obs, headers={}).status_code == 401
    wrong = act(server, obs, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "wrong bearer token" in wrong.text
    assert httpx.get(f"{server}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{server}/readyz", timeout=10).status_code == 200


def test_oversized_payload_gets_413(server):
    body = b'{"observations": [' + b" " * (9 * 2**20) + b"]}"
    resp = httpx.post(f"{server}/act", content=body, headers={**AUTH, "content-type": "application/json"}, timeout=60)
    assert resp.status_code == 413 and "limit" in resp.text
    assert act(server, [encode(observation(np.random.default_rng(0)))]).status_code == 200
