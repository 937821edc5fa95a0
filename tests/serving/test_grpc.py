"""A real `librobot serve-grpc` of the packaged tiny policy on loopback: the HTTP service's answers,
checks and token, over gRPC; health; streaming; hostile clients next to honest ones."""

import json
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from librobot.inference.policy import Policy
from librobot.serving.grpc_messages import chunk_array, observation_message
from librobot.serving.proto import policy_pb2 as pb
from tests.helpers.grpc_serving import serve_grpc, stub
from tests.helpers.serving import AUTH, TOKEN, encode, free_port
from tests.helpers.tiny_bundle import CAMERAS, HW, observation

CALL_AUTH = [("authorization", f"Bearer {TOKEN}")]


@pytest.fixture(scope="module")
def grpc_port(packaged, bentoml_env, tmp_path_factory):
    port = free_port()
    with serve_grpc(packaged, bentoml_env, tmp_path_factory.mktemp("grpc"), port, LIBROBOT_API_TOKEN=TOKEN):
        yield port


@pytest.fixture(scope="module")
def policy_stub(grpc_port):
    channel, policy = stub(grpc_port)
    yield policy
    channel.close()


def act(policy_stub, observations, metadata=CALL_AUTH, timeout=60):
    return policy_stub.Act(pb.ActRequest(observations=observations), metadata=metadata, timeout=timeout)


def test_act_equals_the_http_service_and_the_local_policy(policy_stub, server, exported_bundle):
    rng = np.random.default_rng(21)
    obs = [observation(rng) for _ in range(3)]
    reply = act(policy_stub, [observation_message(o, seed=i) for i, o in enumerate(obs)])
    chunks = np.stack([chunk_array(c) for c in reply.chunks])
    assert chunks.shape == (3, 4, 6)
    resp = httpx.post(
        f"{server}/act", json={"observations": [encode(o, seed=i) for i, o in enumerate(obs)]}, headers=AUTH, timeout=60
    )
    assert resp.status_code == 200, resp.text
    np.testing.assert_allclose(chunks, np.array([c["actions"] for c in resp.json()]), rtol=0, atol=1e-5)
    local = Policy.from_bundle(exported_bundle, runtime="onnx-int8", threads=1)
    for i, o in enumerate(obs):
        np.testing.assert_allclose(chunks[i], local.act(o, seed=i), rtol=0, atol=1e-4)


def test_metadata_is_the_http_services(policy_stub, server):
    reply = policy_stub.Metadata(pb.MetadataRequest(), metadata=CALL_AUTH, timeout=30)
    http = httpx.post(f"{server}/metadata", json={}, headers=AUTH, timeout=30).json()
    assert json.loads(reply.json) == http
    assert (reply.robot, list(reply.cameras)) == ("so100_arm", list(CAMERAS))
    assert (reply.image_height, reply.image_width, reply.action_horizon, reply.obs_horizon) == (*HW, 4, 1)
    assert reply.served_runtime == "onnx-int8" and reply.model_tag == http["model_tag"]
    assert "dataset_path" not in reply.json  # no host paths, as over HTTP


def test_health_is_serving_without_a_token(grpc_port):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "librobot.policy.v1.Policy"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def _bad_observations():
    """(name, observation, words the refusal must contain): each wrong in one field."""
    good = observation_message(observation(np.random.default_rng(22)), seed=0)

    def edit(change):
        msg = pb.Observation()
        msg.CopyFrom(good)
        change(msg)
        return msg

    h, w = HW
    return [
        ("missing_camera", edit(lambda m: m.images.__delitem__("wrist")), "missing camera 'wrist'"),
        ("batch_smuggled", edit(lambda m: m.images["front"].shape.insert(0, 2)), "one observation is one image"),
        (
            "no_shape",
            edit(lambda m: m.images["front"].ClearField("shape")),
            f"has shape []; one observation is one image [{h}, {w}, 3]",
        ),
        ("float_image", edit(lambda m: setattr(m.images["front"], "dtype", "float32")), "dtype 'float32'"),
        ("short_image", edit(lambda m: setattr(m.images["front"], "data", b"\x00" * 10)), "has 10 bytes"),
        ("state_dim", edit(lambda m: m.state.pop()), "state has 11 values"),
        ("nan_state", edit(lambda m: m.state.__setitem__(3, float("nan"))), "NaN or inf"),
        ("absurd_state", edit(lambda m: m.state.__setitem__(2, 3.0e38)), "normalized units"),
        ("ragged_steps", edit(lambda m: setattr(m, "state_steps", 5)), "not a multiple of state_steps = 5"),
        ("seed", edit(lambda m: setattr(m, "seed", 2**40)), "observation.seed is 1099511627776"),
        ("instruction", edit(lambda m: setattr(m, "instruction", "x" * 1001)), "1001 characters"),
        ("empty", pb.Observation(), "missing camera"),
    ]


@pytest.mark.parametrize(("name", "bad", "expected"), _bad_observations(), ids=[c[0] for c in _bad_observations()])
def test_bad_input_gets_invalid_argument_naming_the_field(policy_stub, name, bad, expected):
    with pytest.raises(grpc.RpcError) as err:
        act(policy_stub, [bad])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in err.value.details()
    rng = np.random.default_rng(23)  # and the server keeps serving
    assert len(act(policy_stub, [observation_message(observation(rng), seed=1)]).chunks) == 1


@pytest.mark.parametrize("count", [0, 65])
def test_empty_or_oversized_requests_get_invalid_argument(policy_stub, count):
    msg = observation_message(observation(np.random.default_rng(24)), seed=0)
    with pytest.raises(grpc.RpcError) as err:
        act(policy_stub, [msg] * count)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"observations holds {count}; send 1 to 64" in err.value.details()


def test_a_message_over_the_size_limit_is_refused(policy_stub):
    msg = observation_message(observation(np.random.default_rng(25)), seed=0)
    msg.instruction = "x" * (9 * 2**20)  # over the 8 MiB of LIBROBOT_MAX_REQUEST_BYTES
    with pytest.raises(grpc.RpcError) as err:
        act(policy_stub, [msg])
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("auth", [[], [("authorization", "Bearer nope")], [("authorization", TOKEN)]])
def test_missing_or_wrong_token_is_unauthenticated(policy_stub, auth):
    msg = observation_message(observation(np.random.default_rng(26)), seed=0)
    calls = [
        lambda: act(policy_stub, [msg], metadata=auth),
        lambda: policy_stub.Metadata(pb.MetadataRequest(), metadata=auth, timeout=10),
        lambda: list(policy_stub.ActStream(iter([pb.StreamRequest(id=1, observation=msg)]), metadata=auth, timeout=10)),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "bearer token" in err.value.details()


def test_act_stream_answers_each_observation_in_order_and_survives_a_bad_one(policy_stub):
    rng = np.random.default_rng(27)
    messages = [observation_message(observation(rng), seed=10 + i) for i in range(5)]
    bad = pb.Observation()
    bad.CopyFrom(messages[2])
    bad.state.pop()
    requests = [pb.StreamRequest(id=100 + i, observation=bad if i == 2 else m) for i, m in enumerate(messages)]
    replies = list(policy_stub.ActStream(iter(requests), metadata=CALL_AUTH, timeout=60))
    assert [r.id for r in replies] == [100, 101, 102, 103, 104]
    assert replies[2].WhichOneof("result") == "error"
    assert replies[2].error.code == "INVALID_ARGUMENT" and "state has 11 values" in replies[2].error.message
    for i in (0, 1, 3, 4):
        unary = chunk_array(act(policy_stub, [messages[i]]).chunks[0])
        np.testing.assert_allclose(chunk_array(replies[i].chunk), unary, rtol=0, atol=1e-5)


def test_valid_requests_among_malicious_ones_get_the_answers_they_get_alone(policy_stub):
    rng = np.random.default_rng(28)
    valid = [observation_message(observation(rng), seed=i) for i in range(8)]
    alone = [chunk_array(act(policy_stub, [m]).chunks[0]) for m in valid]
    hostile = [bad for _, bad, _ in _bad_observations()]
    huge = pb.Observation()
    huge.CopyFrom(valid[0])
    huge.instruction = "x" * (9 * 2**20)

    def send(job):
        kind, payload = job
        try:
            if kind == "valid":
                return kind, chunk_array(act(policy_stub, [payload]).chunks[0])
            if kind == "no_token":
                return kind, act(policy_stub, [payload], metadata=[])
            return kind, act(policy_stub, [payload])
        except grpc.RpcError as err:
            return kind, err.code()

    jobs = [("valid", m) for m in valid]
    jobs += [("bad", b) for b in hostile] + [("no_token", valid[0]), ("huge", huge)]
    order = np.random.default_rng(0).permutation(len(jobs))
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(send, [jobs[i] for i in order]))
    answers = iter(alone[i] for i in order if i < len(valid))
    for kind, result in results:
        if kind == "valid":
            np.testing.assert_allclose(result, next(answers), rtol=0, atol=1e-5)
        else:
            expected = {
                "bad": grpc.StatusCode.INVALID_ARGUMENT,
                "no_token": grpc.StatusCode.UNAUTHENTICATED,
                "huge": grpc.StatusCode.RESOURCE_EXHAUSTED,
            }[kind]
            assert result == expected, kind
