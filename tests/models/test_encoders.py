"""State encoders: MLP (single step or window) and the history encoder for obs_horizon > 1."""

from __future__ import annotations

import pytest
import torch

from librobot.registry import build

pytestmark = pytest.mark.numeric  # float-kernel results: `make test` reruns these under avx2


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_mlp_encoder_maps_a_step_or_a_window(activation):
    torch.manual_seed(0)
    step = build(
        "encoder",
        {"name": "mlp", "hidden_dims": [16, 16], "activation": activation, "dropout": 0.1},
        input_dim=5,
        output_dim=8,
    )
    assert step(torch.randn(3, 5)).shape == (3, 8)
    assert step(torch.randn(3, 1, 5)).shape == (3, 1, 8)
    window = build("encoder", {"name": "mlp", "hidden_dims": [16]}, input_dim=5, output_dim=8, obs_horizon=4)
    assert window(torch.randn(3, 4, 5)).shape == (3, 1, 8)
    with pytest.raises(ValueError, match="4 step"):
        window(torch.randn(3, 2, 5))


def test_mlp_encoder_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="relu, gelu"):
        build("encoder", {"name": "mlp", "activation": "tanhh"}, input_dim=5, output_dim=8)


def test_history_encoder_gives_one_token_per_step_and_ignores_padded_steps():
    torch.manual_seed(0)
    enc = build(
        "encoder", {"name": "history", "hidden_dims": [16], "num_heads": 2}, input_dim=5, output_dim=8, obs_horizon=3
    ).eval()
    state = torch.randn(2, 3, 5)
    pad = torch.tensor([[True, False, False], [False, False, False]])
    out = enc(state, pad)
    assert out.shape == (2, 3, 8)
    changed = state.clone()
    changed[0, 0] += 10.0  # a padded step: the real steps must not see it
    assert torch.allclose(enc(changed, pad)[0, 1:], out[0, 1:], atol=1e-6)
    changed[1, 0] += 10.0  # a real step: the others attend to it
    assert not torch.allclose(enc(changed, pad)[1, 1:], out[1, 1:])
