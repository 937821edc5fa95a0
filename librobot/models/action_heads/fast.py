"""FAST head: an autoregressive transformer decoder over action tokens (pi0-FAST, Pertsch et al. 2025).

The head reads the framework's features (frozen VLM tokens + state tokens) through cross-attention
and predicts the chunk's action tokens one at a time (FAST tokens by default: DCT + BPE, see
``librobot/models/action_tokenizers/``), trained with cross-entropy under teacher forcing. The
tokenizer is fitted on the training chunks when training starts and travels in the bundle as
``action_tokenizer.json``; before that the head holds an unfitted tokenizer from its config (every
id one coefficient), so an untrained head still predicts valid chunks.

Inference is greedy and constrained, so whatever the weights, the output decodes to a valid chunk:

- ``max_tokens`` decoding steps, always (an unrolled loop: one ONNX graph, like the samplers);
- ids the tokenizer never emits are masked, and so is any token whose codes would overflow the
  chunk's ``H * D`` codes; EOS is always allowed, and after EOS only EOS;
- the generated codes are joined and padded with the tokenizer's ``pad_code`` (FAST: zero
  coefficients, i.e. the highest frequencies left out) to ``H * D``, then mapped to the chunk.

Detokenization runs inside the graph: the token -> codes table and the inverse DCT are buffers, so
the exported graph outputs the chunk like every other head and the runtimes need no tokenizer code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from librobot.models.action_heads.base import ActionHead
from librobot.models.action_tokenizers.base import ActionTokenizer, build_action_tokenizer
from librobot.models.layers import Attention, FeedForward
from librobot.registry import REGISTRY, component_config, register_action_head

IGNORE = -100  # cross-entropy target of padding positions


@dataclass
class FASTHeadConfig:
    hidden_dim: int = 128
    num_heads: int = 4
    num_layers: int = 2  # decoder blocks: causal self-attention, cross-attention to the features, MLP
    dropout: float = 0.1
    max_tokens: int | None = None  # decoding steps; None: H * D (every token holds >= 1 code: always enough)
    tokenizer: dict[str, Any] = field(default_factory=lambda: {"name": "fast"})

    def __post_init__(self) -> None:
        # the tokenizer's fields checked against its own config class, defaults filled in (config.yaml records them)

        node = dict(self.tokenizer)
        checked = component_config("action_tokenizer", node, path="model.action_head.tokenizer")
        self.tokenizer = {"name": str(node["name"]), **dataclasses.asdict(checked)}


def _attend(attn: Attention, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None):
    """``attn`` with queries from ``x`` over given keys/values and a full ``[Tq, Tk]`` mask."""
    b, n, d = x.shape
    q = attn.q(x).view(b, n, attn.num_heads, -1).transpose(1, 2)
    y = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=mask)
    return attn.out(y.transpose(1, 2).reshape(b, n, d))


class DecoderBlock(nn.Module):
    """Pre-norm causal self-attention -> cross-attention to the features -> MLP, with a KV cache."""

    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.self_attn = Attention(dim, num_heads)
        self.cross_attn = Attention(dim, num_heads)
        self.ff = FeedForward(dim, dropout=dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, context_kv, context_mask, past=None):
        """``x`` [B, T, d]: T tokens after the ``past`` (k, v) of earlier ones; returns (x, (k, v) of all)."""
        h = self.norms[0](x)
        k, v = self.self_attn.project_kv(h)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        t, n = x.shape[1], k.shape[2]
        causal = torch.ones(t, n, dtype=torch.bool, device=x.device).tril(n - t) if t > 1 else None
        x = x + self.drop(_attend(self.self_attn, h, (k, v), causal))
        x = x + self.drop(self.cross_attn(self.norms[1](x), kv=context_kv, key_mask=context_mask))
        x = x + self.drop(self.ff(self.norms[2](x)))
        return x, (k, v)


@register_action_head("fast", aliases=["pi0_fast"])
class FASTHead(ActionHead):
    config_class = FASTHeadConfig
    samples = False
    uses_action_tokenizer = True  # training fits its tokenizer; bundles carry it (action_tokenizers/bundle_file.py)

    def __init__(self, cfg: FASTHeadConfig, feature_dim: int, action_dim: int, action_horizon: int):
        super().__init__(feature_dim, action_dim, action_horizon)
        if cfg.num_layers < 1:
            raise ValueError(f"action_head.num_layers must be >= 1, got {cfg.num_layers}")
        if cfg.max_tokens is not None and cfg.max_tokens < 1:
            raise ValueError(f"action_head.max_tokens must be >= 1 or null (H * D), got {cfg.max_tokens}")
        self.cfg = cfg
        tokenizer = build_action_tokenizer(cfg.tokenizer, action_horizon, action_dim, path="action_head.tokenizer")
        self.vocab_size = tokenizer.vocab_size
        self.eos, self.bos = self.vocab_size, self.vocab_size + 1  # after the tokenizer's ids
        self.num_codes = tokenizer.num_codes
        self.max_tokens = int(cfg.max_tokens or self.num_codes)
        d = cfg.hidden_dim
        self.feature_proj = nn.Sequential(nn.Linear(feature_dim, d), nn.LayerNorm(d))
        self.token_embedding = nn.Embedding(self.vocab_size + 2, d)
        self.position = nn.Parameter(torch.randn(1, self.max_tokens, d) * 0.02)
        self.blocks = nn.ModuleList(DecoderBlock(d, cfg.num_heads, cfg.dropout) for _ in range(cfg.num_layers))
        self.norm = nn.LayerNorm(d)
        # logits over the ids and EOS; named so int8 export keeps it float (export.quant_keep_float):
        # near-ties there decide which token is taken
        self.action_out = nn.Linear(d, self.vocab_size + 1)
        self.set_action_tokenizer(tokenizer)

    # -- the tokenizer and its decoding tables ---------------------------------------------------------
    def set_action_tokenizer(self, tokenizer: ActionTokenizer) -> None:
        """Use ``tokenizer`` (fitted in training, or loaded from a bundle): its tables become buffers.

        The buffers are not saved with the weights: ``action_tokenizer.json`` is their one source.
        """
        want = dict(self.cfg.tokenizer)
        name = REGISTRY.canonical_name("action_tokenizer", want.pop("name"))
        got = dataclasses.asdict(tokenizer.cfg)
        if tokenizer.name != name or got != want:
            raise ValueError(
                f"action tokenizer {tokenizer.name} {got} does not match action_head.tokenizer ({name} {want})"
            )
        shape = (tokenizer.action_horizon, tokenizer.action_dim)
        if shape != (self.action_horizon, self.action_dim):
            raise ValueError(
                f"action tokenizer is for chunks [{shape[0]}, {shape[1]}]; this head predicts "
                f"[{self.action_horizon}, {self.action_dim}] (action_horizon, action_dim)"
            )
        tables = tokenizer.decode_tables()
        width = tables.token_codes.shape[1]
        codes = np.concatenate([tables.token_codes, np.zeros((1, width), np.int64)])  # EOS: no codes
        lengths = np.concatenate([tables.token_lengths, [0]])
        allowed = lengths > 0
        allowed[self.eos] = True
        device = self.action_out.weight.device
        buffers = {
            "token_codes": torch.as_tensor(codes.reshape(-1), dtype=torch.long),  # flat: id * width + offset
            "token_lengths": torch.as_tensor(lengths, dtype=torch.long),
            "allowed": torch.as_tensor(allowed),
            "is_eos": torch.arange(self.vocab_size + 1) == self.eos,
            "decode_linear": torch.as_tensor(tables.linear, dtype=torch.float32),
            "decode_offset": torch.as_tensor(tables.offset, dtype=torch.float32),
        }
        for key, value in buffers.items():
            self.register_buffer(key, value.to(device), persistent=False)
        self.code_width = width
        self.pad_code = tables.pad_code
        self.action_tokenizer = tokenizer

    # -- training ----------------------------------------------------------------------------------------
    def context(self, features: torch.Tensor, feature_mask: torch.Tensor | None):
        """Keys/values of the features for every block's cross-attention, computed once per observation."""
        memory = self.feature_proj(features)
        return [blk.cross_attn.project_kv(memory) for blk in self.blocks], feature_mask

    def teacher_forcing(self, tokens: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs ``[BOS, t1, ...]`` and targets ``[t1, ..., EOS]``, cut to ``max_tokens``, padded (targets IGNORE)."""
        targets = [(seq + [self.eos])[: self.max_tokens] for seq in tokens]
        length = max(len(t) for t in targets)
        inputs = torch.full((len(tokens), length), self.eos, dtype=torch.long)
        padded = torch.full((len(tokens), length), IGNORE, dtype=torch.long)
        for i, target in enumerate(targets):
            inputs[i, : len(target)] = torch.tensor([self.bos, *target[:-1]])
            padded[i, : len(target)] = torch.tensor(target)
        return inputs.to(device), padded.to(device)

    def forward(self, features, feature_mask, actions, action_is_pad=None) -> dict[str, torch.Tensor]:
        """Cross-entropy of the chunk's tokens. The DCT mixes every step of the chunk, so padded steps (which
        repeat the episode's last action, the dataset's padding) are encoded with it: holding still is a target."""
        self.check_actions(actions)
        tokens = self.action_tokenizer.encode(actions.detach().float().cpu().numpy())
        inputs, targets = self.teacher_forcing(tokens, features.device)
        kvs, mask = self.context(features, feature_mask)
        h = self.token_embedding(inputs) + self.position[:, : inputs.shape[1]]
        for blk, kv in zip(self.blocks, kvs, strict=True):
            h, _ = blk(h, kv, mask)
        logits = self.action_out(self.norm(h))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        real = targets != IGNORE
        accuracy = ((logits.argmax(-1) == targets) & real).sum() / real.sum().clamp(min=1)
        return {"loss": loss, "token_accuracy": accuracy.detach()}

    # -- inference ---------------------------------------------------------------------------------------
    def generate(self, features: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
        """Greedy, constrained decoding: token ids ``[B, max_tokens]``, EOS (= vocab_size) after the last one."""
        kvs, mask = self.context(features, feature_mask)
        b = features.shape[0]
        token = torch.full((b,), self.bos, dtype=torch.long, device=features.device)
        used = torch.zeros(b, dtype=torch.long, device=features.device)  # codes emitted so far
        past: list[Any] = [None] * len(self.blocks)
        out = []
        for step in range(self.max_tokens):  # unrolled in the exported graph
            h = self.token_embedding(token)[:, None] + self.position[:, step : step + 1]
            for i, (blk, kv) in enumerate(zip(self.blocks, kvs, strict=True)):
                h, past[i] = blk(h, kv, mask, past[i])
            logits = self.action_out(self.norm(h[:, 0]))
            fits = self.token_lengths[None, :] <= (self.num_codes - used)[:, None]  # EOS (length 0) always fits
            after_eos = (token == self.eos)[:, None]
            allowed = self.allowed[None, :] & fits & (~after_eos | self.is_eos[None, :])
            token = logits.masked_fill(~allowed, float("-inf")).argmax(dim=-1)
            used = used + self.token_lengths[token]
            out.append(token)
        return torch.stack(out, dim=1)

    def decode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids ``[B, T]`` (EOS contributes nothing) -> normalized chunk ``[B, H, D]``, as the tokenizer decodes.

        Code position p comes from the token whose run covers it: the number of tokens that end at or
        before p; positions past the last code are ``pad_code``. Gathers and a matmul: exportable.
        """
        lengths = self.token_lengths[tokens]
        ends = lengths.cumsum(dim=1)
        starts = ends - lengths
        pos = torch.arange(self.num_codes, device=tokens.device)
        which = (ends[:, None, :] <= pos[None, :, None]).long().sum(dim=-1).clamp(max=tokens.shape[1] - 1)
        offset = (pos[None, :] - starts.gather(1, which)).clamp(0, self.code_width - 1)
        codes = self.token_codes[tokens.gather(1, which) * self.code_width + offset]
        codes = torch.where(pos[None, :] < ends[:, -1:], codes, torch.full_like(codes, self.pad_code))
        # multiply-and-sum, not a MatMul: int8 export quantizes MatMuls, and rounding these integer codes
        # and the inverse DCT to 8 bits would blur every chunk
        flat = (codes.to(self.decode_linear.dtype)[:, :, None] * self.decode_linear).sum(dim=1) + self.decode_offset
        return flat.reshape(-1, self.action_horizon, self.action_dim)

    def predict(self, features, feature_mask, noise=None) -> torch.Tensor:
        return self.decode_tokens(self.generate(features, feature_mask))
