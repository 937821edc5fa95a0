"""Hostile clients against a real `bentoml serve` on loopback (issue 13).

The service never mixes up, poisons or starves requests: valid requests sent together with
malicious ones get exactly the answer they get alone, every malicious one gets its promised 4xx,
and the server keeps serving, with a bounded /metrics and a log without tracebacks.
"""

import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import numpy as np

from tests.helpers.serving import AUTH, SERVE_LOGS, TOKEN, encode
from tests.helpers.tiny_bundle import observation

TIMEOUT = 120


def post_act(url, observations, headers=AUTH):
    return httpx.post(f"{url}/act", json={"observations": observations}, headers=headers, timeout=TIMEOUT)


def post_raw(url, body: str, headers=AUTH, path="/act"):
    headers = {**headers, "content-type": "application/json"}
    return httpx.post(f"{url}{path}", content=body, headers=headers, timeout=TIMEOUT)


def valid_requests(n: int = 18) -> list[list[dict]]:
    """1 to 3 observations each, every one with its own seed, so each answer is reproducible."""
    rng = np.random.default_rng(11)
    return [[encode(observation(rng), seed=1000 + 10 * k + j) for j in range(1 + k % 3)] for k in range(n)]


def malicious_requests() -> list[tuple[str, object, int, str]]:
    """(name, send(url) -> response, expected status, text the answer must contain)."""
    rng = np.random.default_rng(12)
    raw = observation(rng)
    good = encode(raw)
    # a batch of two robots smuggled into one observation as 4-D nested lists
    smuggled = {
        **good,
        "images": {c: np.stack([img, img[::-1]]).tolist() for c, img in raw["images"].items()},
        "state": [good["state"], good["state"]],
    }
    nan_state = {**good, "state": [float("nan")] + good["state"][1:]}
    huge_state = {**good, "state": good["state"][:2] + [3.4e38] + good["state"][3:]}  # finite in float32
    beyond_float32 = {**good, "state": good["state"][:2] + [1e39] + good["state"][3:]}
    wrong_camera = {**good, "images": {"front": good["images"]["front"], "elbow": good["images"]["wrist"]}}
    return [
        ("smuggled_batch", lambda u: post_act(u, [smuggled]), 400, "one observation is one image"),
        ("seed_negative", lambda u: post_act(u, [{**good, "seed": -1}]), 400, "seed"),
        ("seed_huge", lambda u: post_act(u, [{**good, "seed": 2**70}]), 400, "seed"),
        ("instruction_7_8_MB", lambda u: post_act(u, [{**good, "instruction": "x" * 7_800_000}]), 400, "instruction"),
        ("instruction_long", lambda u: post_act(u, [{**good, "instruction": "pick " * 2000}]), 400, "instruction"),
        ("state_3.4e38", lambda u: post_act(u, [huge_state]), 400, "'elbow_flex.pos'"),
        ("state_beyond_float32", lambda u: post_act(u, [beyond_float32]), 400, "float32 range"),
        ("state_nan", lambda u: post_raw(u, json.dumps({"observations": [nan_state]})), 400, "NaN or inf"),
        ("wrong_camera", lambda u: post_act(u, [wrong_camera]), 400, "missing camera 'wrist'"),
        (
            "multipart",
            lambda u: httpx.post(f"{u}/act", files={"observations": ("o.json", b"[]")}, headers=AUTH, timeout=TIMEOUT),
            415,
            "application/json",
        ),
        (
            "form_urlencoded",
            lambda u: httpx.post(f"{u}/act", data={"observations": "[]"}, headers=AUTH, timeout=TIMEOUT),
            415,
            "application/json",
        ),
        ("unknown_path", lambda u: post_raw(u, "{}", path=f"/act/{uuid.uuid4().hex}"), 404, "no such route"),
        ("unknown_path_no_token", lambda u: httpx.get(f"{u}/{uuid.uuid4().hex}", timeout=TIMEOUT), 404, "route"),
        ("wrong_token", lambda u: post_act(u, [good], headers={"Authorization": "Bearer nope"}), 401, "wrong"),
        ("no_token", lambda u: post_act(u, [good], headers={}), 401, "missing"),
    ]


def log_size(url) -> int:
    return SERVE_LOGS[url].stat().st_size


def test_mixed_valid_and_malicious_requests_get_their_own_answers_and_the_server_keeps_serving(server):
    valid = valid_requests()
    alone = []
    for request in valid:
        resp = post_act(server, request)
        assert resp.status_code == 200, resp.text
        alone.append(np.array([item["actions"] for item in resp.json()]))
    malicious = malicious_requests()
    log_start = log_size(server)

    jobs = [("valid", i) for i in range(len(valid))] + [("malicious", i) for i in range(len(malicious))]
    jobs += [("valid", i) for i in range(len(valid))]  # each valid request twice, to fill batches
    order = np.random.default_rng(13).permutation(len(jobs))
    jobs = [jobs[i] for i in order]

    def send(job):
        kind, i = job
        return job, post_act(server, valid[i]) if kind == "valid" else malicious[i][1](server)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, jobs, timeout=300))

    for (kind, i), resp in answers:
        if kind == "valid":
            assert resp.status_code == 200, f"valid request {i}: {resp.status_code} {resp.text[:300]}"
            chunks = np.array([item["actions"] for item in resp.json()])
            assert chunks.shape == alone[i].shape  # exactly as many chunks as observations sent
            np.testing.assert_allclose(chunks, alone[i], atol=1e-5, err_msg=f"valid request {i}")
        else:
            name, _, status, text = malicious[i]
            assert resp.status_code == status, f"{name}: {resp.status_code} {resp.text[:300]}"
            assert text in resp.text, f"{name}: {resp.text[:300]}"
            assert len(resp.content) < 4000, f"{name}: the error echoes the input ({len(resp.content)} bytes)"

    # still serving, same answers
    again = post_act(server, valid[0])
    assert again.status_code == 200
    np.testing.assert_allclose(np.array([item["actions"] for item in again.json()]), alone[0], atol=1e-5)
    assert httpx.get(f"{server}/livez", timeout=10).status_code == 200

    # one short line per refused request, no tracebacks (the log grew by 2.7 MB before)
    new_log = SERVE_LOGS[server].read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in new_log, new_log[-3000:]
    assert max((len(line) for line in new_log.splitlines()), default=0) < 1500
    assert len(new_log) < 1000 * len(jobs), f"log grew by {len(new_log)} bytes for {len(jobs)} requests"


def test_random_paths_do_not_grow_metrics(server):
    def metrics() -> str:
        resp = httpx.get(f"{server}/metrics", timeout=30)
        assert resp.status_code == 200
        return resp.text

    httpx.get(f"{server}/no-such-route", timeout=10)  # the rejection counter's series exists from here
    before = metrics()
    paths = [f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}" for _ in range(300)]

    def hit(path):
        with_token = {"Authorization": f"Bearer {TOKEN}"} if len(path) % 2 else {}
        return httpx.post(f"{server}{path}", json={}, headers=with_token, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(hit, paths))
    after = metrics()
    assert set(statuses) == {404}
    assert not any(path.split("/")[1] in after for path in paths)
    assert len(after) - len(before) < 2048, f"/metrics grew from {len(before)} to {len(after)} bytes"
    assert 'librobot_rejected_requests_total{status="404"}' in after


def test_slow_clients_do_not_starve_valid_requests_and_get_408(server):
    host, port = urlparse(server).hostname, urlparse(server).port
    head = (
        f"POST /act HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    slow = []
    for _ in range(6):
        sock = socket.create_connection((host, port), timeout=30)
        sock.sendall(head.encode() + b'{"observations": [')  # and then nothing more
        slow.append(sock)
    try:
        request = valid_requests(1)[0]
        start = time.monotonic()
        resp = post_act(server, request)
        assert resp.status_code == 200, resp.text
        assert time.monotonic() - start < 8, "a valid request waited behind stalled clients"
        assert httpx.get(f"{server}/livez", timeout=10).status_code == 200
        for sock in slow:  # cut off after LIBROBOT_BODY_TIMEOUT_S (10 s) with 408
            sock.settimeout(25)
            answer = sock.recv(4096).decode(errors="replace")
            assert answer.startswith("HTTP/1.1 408"), answer[:300]
    finally:
        for sock in slow:
            sock.close()


def test_metadata_shows_no_host_paths(server, exported_bundle):
    resp = httpx.post(f"{server}/metadata", json={}, headers=AUTH, timeout=30)
    assert resp.status_code == 200
    meta = resp.json()
    assert "dataset_path" not in meta and meta["dataset_name"] == "dataset" and meta["dataset_md5"] == "0123abcd"
    assert str(exported_bundle.parent) not in resp.text and "/tmp" not in resp.text


def test_unknown_routes_are_404_and_known_ones_still_work_without_the_token_where_open(server):
    assert httpx.get(f"{server}/readyz", timeout=10).status_code == 200
    assert httpx.get(f"{server}/metrics", timeout=10).status_code == 200
    assert httpx.get(f"{server}/static_content/{uuid.uuid4().hex}.js", timeout=10).status_code == 404
    assert httpx.post(f"{server}/metadata", json={}, timeout=10).status_code == 401
