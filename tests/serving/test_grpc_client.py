"""The asynchronous robot client against real servers on loopback: chunks requested ahead and
blended, over gRPC and HTTP; a stopped server -> the robot's safe action, then recovery."""

import itertools
import os
import signal

import numpy as np
import pytest

from librobot.client import AsyncPolicyClient, Rate, RequestRefused, make_transport
from librobot.client.async_client import SEED_STRIDE
from librobot.inference.action_buffer import ActionBuffer
from librobot.inference.policy import Policy
from tests.helpers.grpc_serving import serve_grpc
from tests.helpers.serving import TOKEN, free_port
from tests.helpers.tiny_bundle import observation

FPS = 10.0  # slower than so100_arm's 30 Hz: room for a loaded machine, chunks still overlap


@pytest.fixture(scope="module")
def grpc_server(packaged, bentoml_env, tmp_path_factory):
    """A server of its own: the safe-stop test stops it."""
    port = free_port()
    with serve_grpc(packaged, bentoml_env, tmp_path_factory.mktemp("grpc_client"), port, LIBROBOT_API_TOKEN=TOKEN) as p:
        yield p, f"grpc://127.0.0.1:{port}"


def observations(count, seed=0):
    """A robot's observations, one per control step, distinct so every chunk differs."""
    rng = np.random.default_rng(seed)
    return [observation(rng) for _ in range(count)]


def drive(client, obs_list):
    rate = Rate(FPS)
    actions = []
    for obs in obs_list:
        rate.sleep()
        actions.append(client.step(obs))
    return np.array(actions)


def replay(stats, obs_list, local, seed, blend_steps):
    """The actions the client must have sent, rebuilt from its log of which observation's chunk joined
    the queue at which step, with chunks computed by the local policy."""
    buffer = ActionBuffer(4, mode="blend", blend_steps=blend_steps)
    arrivals = dict((joined, obs_step) for obs_step, joined in stats.arrivals)
    out = []
    for step in range(len(obs_list)):
        if step in arrivals:
            k = arrivals[step]
            buffer.add(local.act(obs_list[k], seed=seed * SEED_STRIDE + k), obs_step=k)
        if step in stats.safe_at:
            out.append(None)
            buffer.step += 1
        else:
            out.append(buffer.pop())
    return out


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_client_requests_ahead_and_blends_overlapping_chunks(transport, grpc_server, server, exported_bundle):
    url = grpc_server[1] if transport == "grpc" else server
    obs_list = observations(30)
    with AsyncPolicyClient(make_transport(url, TOKEN), seed=3, blend_steps=2, timeout_s=30) as client:
        assert client.threshold == 2  # half the horizon of 4
        actions = drive(client, obs_list)
        stats = client.stats
    assert stats.steps == 30 and stats.failed_requests == 0
    local = Policy.from_bundle(exported_bundle, runtime="onnx-int8", threads=1)
    expected = replay(stats, obs_list, local, seed=3, blend_steps=2)
    for step, (got, want) in enumerate(zip(actions, expected, strict=True)):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, err_msg=f"step {step}")
    # the next chunk was asked for while the current one still had actions, so chunks overlap; the first
    # step of a new chunk is then 1/3 new, 2/3 old (blend_steps 2), its stale actions skipped
    overlaps = [
        (old, new)
        for old, new in itertools.pairwise(stats.arrivals)
        if new[1] < old[0] + 4 and new[1] not in stats.safe_at
    ]
    assert len(overlaps) >= 4, stats.arrivals
    (j, _), (k, joined) = overlaps[-1]
    old_action = local.act(obs_list[j], seed=3 * SEED_STRIDE + j)[joined - j]
    new_action = local.act(obs_list[k], seed=3 * SEED_STRIDE + k)[joined - k]
    np.testing.assert_allclose(actions[joined], old_action * 2 / 3 + new_action / 3, rtol=0, atol=1e-4)


def test_a_stopped_server_makes_the_client_send_the_safe_action_then_it_resumes(grpc_server):
    proc, url = grpc_server
    obs_list = observations(60, seed=1)
    client = AsyncPolicyClient(make_transport(url, TOKEN), seed=0, timeout_s=0.2, retries=1, backoff_s=0.05)
    try:
        before = drive(client, obs_list[:10])
        assert client.stats.safe_steps == 0
        os.killpg(proc.pid, signal.SIGSTOP)  # the server hangs: connected, never answering
        try:
            stopped = drive(client, obs_list[10:35])
        finally:
            os.killpg(proc.pid, signal.SIGCONT)
        safe_at = list(client.stats.safe_at)
        assert client.stats.failed_requests >= 1 and "DEADLINE_EXCEEDED" in client.stats.last_error
        # the queue held at most one chunk of 4: from then on every step is the safe action
        assert safe_at and safe_at[0] <= 10 + 4 and safe_at == list(range(safe_at[0], 35))
        robot = client.robot
        for step in safe_at:  # so100_arm holds its pose: each joint target is the joint's current position
            expected = robot.clip(np.asarray(obs_list[step]["state"])[:6], "action")
            np.testing.assert_array_equal(stopped[step - 10], expected)
        after = drive(client, obs_list[35:])
        assert client.stats.steps == 60
        assert len(client.stats.safe_at) < 60 - 10 and client.stats.safe_at[-1] < 59  # chunks again
        assert np.isfinite(before).all() and np.isfinite(after).all()
    finally:
        client.close()


def test_a_wrong_token_is_refused_before_the_robot_moves(grpc_server):
    with pytest.raises(RequestRefused, match="UNAUTHENTICATED"):
        AsyncPolicyClient(make_transport(grpc_server[1], "wrong"))
