import numpy as np
import pytest

from librobot.inference.action_buffer import ActionBuffer


def chunk(values, dim=2):
    return np.repeat(np.asarray(values, dtype=float)[:, None], dim, axis=1)


def test_chunk_mode_executes_n_steps_then_asks_for_a_new_chunk():
    buf = ActionBuffer(execute_steps=3)
    assert buf.needs_chunk()
    buf.add(chunk([0, 1, 2, 3, 4]))
    out = []
    while not buf.needs_chunk():
        out.append(buf.pop()[0])
    assert out == [0, 1, 2]
    buf.add(chunk([10, 11, 12, 13, 14]))
    assert buf.pop()[0] == 10


def test_chunk_mode_asks_early_when_the_chunk_is_shorter_than_n():
    buf = ActionBuffer(execute_steps=5)
    buf.add(chunk([0, 1]))
    buf.pop(), buf.pop()
    assert buf.needs_chunk()
    with pytest.raises(RuntimeError, match="no action for step 2"):
        buf.pop()


def test_temporal_ensembling_uses_act_exponential_weights_oldest_first():
    decay = 0.5
    buf = ActionBuffer(execute_steps=1, mode="ensemble", ensemble_decay=decay)
    buf.add(chunk([0.0, 1.0, 2.0]))
    assert buf.pop()[0] == 0.0
    assert buf.needs_chunk()
    buf.add(chunk([5.0, 6.0, 7.0]))  # its action 0 is for step 1, as is the first chunk's action 1
    w = np.exp(-decay * np.arange(2))
    expected = (w[0] * 1.0 + w[1] * 5.0) / w.sum()
    assert buf.pop()[0] == pytest.approx(expected)
    buf.add(chunk([9.0, 9.0, 9.0]))
    w = np.exp(-decay * np.arange(3))
    assert buf.pop()[0] == pytest.approx((w[0] * 2.0 + w[1] * 6.0 + w[2] * 9.0) / w.sum())


def test_ensembling_with_zero_decay_is_the_plain_mean():
    buf = ActionBuffer(execute_steps=1, mode="ensemble", ensemble_decay=0.0)
    buf.add(chunk([0.0, 4.0]))
    buf.pop()
    buf.add(chunk([2.0, 2.0]))
    assert buf.pop()[0] == pytest.approx(3.0)


def test_blend_skips_stale_actions_and_cross_fades_to_the_new_chunk():
    buf = ActionBuffer(execute_steps=2, mode="blend", blend_steps=3)
    buf.add(chunk(np.zeros(8)))
    buf.pop(), buf.pop()
    assert buf.needs_chunk()
    # inference started at step 2 but the chunk arrives at step 4: its first two actions are stale
    buf.pop(), buf.pop()
    buf.add(chunk(np.arange(100, 108)), obs_step=2)
    got = [buf.pop()[0] for _ in range(4)]
    new = [102, 103, 104, 105]
    alphas = [0.25, 0.5, 0.75, 1.0]
    assert got == pytest.approx([a * n for a, n in zip(alphas, new, strict=True)])
    assert buf.pop()[0] == 106  # cross-fade over: the new chunk alone


def test_blend_without_blend_steps_switches_at_once():
    buf = ActionBuffer(execute_steps=1, mode="blend", blend_steps=0)
    buf.add(chunk([1.0, 1.0, 1.0]))
    buf.pop()
    buf.add(chunk([7.0, 8.0]), obs_step=0)
    assert buf.pop()[0] == 8.0


def test_add_refuses_bad_chunks_naming_the_problem():
    buf = ActionBuffer(execute_steps=1)
    with pytest.raises(ValueError, match=r"\[H, action_dim\]"):
        buf.add(np.zeros(3))
    buf.add(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="action_dim 4"):
        buf.add(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="future"):
        buf.add(np.zeros((2, 3)), obs_step=5)
    with pytest.raises(ValueError, match="mode must be one of"):
        ActionBuffer(execute_steps=1, mode="fancy")


def test_reset_forgets_chunks_and_step():
    buf = ActionBuffer(execute_steps=2)
    buf.add(chunk([1.0, 2.0]))
    buf.pop()
    buf.reset()
    assert buf.step == 0 and buf.needs_chunk() and buf.remaining() == 0
