"""Building blocks shared by encoders, action heads and frameworks.

Everything here exports with ``torch.onnx.export(dynamo=True)``: plain linear layers, layer norms and
``scaled_dot_product_attention``; no data-dependent Python control flow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """Linear -> activation -> dropout, per hidden size, then a final linear layer."""

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int, act: str = "gelu", dropout: float = 0.0):
        layers: list[nn.Module] = []
        dim = in_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(dim, hidden), activation(act)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            dim = hidden
        layers.append(nn.Linear(dim, out_dim))
        super().__init__(*layers)


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[B] timesteps (any scale) -> [B, dim] sin/cos features, as in DDPM and DiT."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """Sinusoidal features of the timestep through a 2-layer MLP (DiT's t_embedder)."""

    def __init__(self, dim: int, scale: float = 1.0):
        super().__init__()
        self.dim, self.scale = dim, scale
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t * self.scale, self.dim))


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over tokens [B, N, D] -> [B, D], counting only tokens where ``mask`` is True."""
    if mask is None:
        return x.mean(dim=1)
    w = mask.to(x.dtype)[..., None]
    return (x * w).sum(dim=1) / w.sum(dim=1).clamp(min=1.0)


def masked_action_loss(err: torch.Tensor, action_is_pad: torch.Tensor | None) -> torch.Tensor:
    """Mean of a per-element error [B, H, D] over the steps that are real actions (not padding)."""
    if action_is_pad is None:
        return err.mean()
    valid = (~action_is_pad).to(err.dtype)[..., None]
    return (err * valid).sum() / (valid.sum() * err.shape[-1]).clamp(min=1.0)


class Attention(nn.Module):
    """Multi-head attention; keys/values of a context can be projected once and reused (a KV cache)."""

    def __init__(self, dim: int, num_heads: int, context_dim: int | None = None):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"attention width {dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim or dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def project_kv(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, _ = context.shape
        k, v = self.kv(context).view(b, n, 2, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(
        self,
        x: torch.Tensor,
        kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``kv``: precomputed (k, v) of the context; None means self-attention over ``x``.

        ``key_mask``: bool, True where a key may be attended to: [B, N_keys] for every query alike, or
        [B, N_queries, N_keys] per query (block-causal attention, octo_style).
        """
        b, n, d = x.shape
        q = self.q(x).view(b, n, self.num_heads, -1).transpose(1, 2)
        k, v = kv if kv is not None else self.project_kv(x)
        attn_mask = None
        if key_mask is not None:
            attn_mask = key_mask[:, None, None, :] if key_mask.dim() == 2 else key_mask[:, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__(nn.Linear(dim, dim * mult), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * mult, dim))


class TransformerBlock(nn.Module):
    """Pre-norm self-attention -> cross-attention to a context -> MLP.

    With ``cond_dim`` the block is DiT-style: a conditioning vector (the timestep embedding) sets
    scale/shift/gate of every sub-layer (adaLN-Zero), so the block starts as the identity.
    """

    def __init__(self, dim: int, num_heads: int, cross: bool = True, cond_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.cross = cross
        n_sub = 3 if cross else 2
        self.norms = nn.ModuleList(nn.LayerNorm(dim, elementwise_affine=cond_dim is None) for _ in range(n_sub))
        self.self_attn = Attention(dim, num_heads)
        self.cross_attn = Attention(dim, num_heads) if cross else None
        self.ff = FeedForward(dim, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.ada = None
        if cond_dim is not None:
            self.ada = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 3 * n_sub * dim))
            nn.init.zeros_(self.ada[1].weight)
            nn.init.zeros_(self.ada[1].bias)

    def context_kv(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.cross_attn.project_kv(context) if self.cross_attn is not None else None

    def forward(
        self,
        x: torch.Tensor,
        context_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        context_mask: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
        self_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        subs = [lambda h: self.self_attn(h, key_mask=self_mask)]
        if self.cross_attn is not None:
            subs.append(lambda h: self.cross_attn(h, kv=context_kv, key_mask=context_mask))
        subs.append(self.ff)
        if self.ada is not None:
            mods = self.ada(cond)[:, None, :].chunk(3 * len(subs), dim=-1)
        for i, (norm, sub) in enumerate(zip(self.norms, subs, strict=True)):
            h = norm(x)
            if self.ada is not None:
                shift, scale, gate = mods[3 * i], mods[3 * i + 1], mods[3 * i + 2]
                x = x + gate * self.drop(sub(h * (1 + scale) + shift))
            else:
                x = x + self.drop(sub(h))
        return x
