"""OpenVLA-style framework (Kim et al. 2024): actions are tokens of the VLM's own vocabulary, predicted by
its language-model head.

Each normalized action value falls in one of ``bins`` uniform bins (the ``bins`` action tokenizer; 256 as
in OpenVLA), and bin ``k`` is vocabulary id ``V - bins + k``: the last ids of the language model's
vocabulary, the ones OpenVLA overwrites because its tokenizer uses them least. A chunk is ``H * D`` such
tokens, time-major. The language model reads

    [image tokens; instruction tokens; state token(s); H * D action slots]

and learns by cross-entropy (over its whole vocabulary, as a language model does) on the action tokens
alone; padded steps past an episode's end are left out of the loss.

The state: OpenVLA reads none; OpenVLA-OFT projects the proprioceptive state into one token of the
language model's input. Here the state encoder (``model/encoder``, as in every framework of the project)
gives tokens of the language model's width, placed after the instruction (``state: true``, the default):
MetaWorld's state holds the goal position, which the camera image does not show.

Decoding (``decoding``, a ``librobot.choices.ActionDecoding``):

- ``autoregressive`` (OpenVLA): slot t holds the embedding of token t - 1 (a learned start embedding for
  t = 0) under causal attention; inference takes one token per forward pass with the language model's
  KV cache, ``H * D`` passes.
- ``parallel`` (OpenVLA-OFT): every slot holds a learned placeholder embedding; the placeholders attend to
  the whole prompt and to each other (bidirectional among them), and the chunk comes out of one pass.

Both are constrained: logits are taken over the action ids only, so no text token is ever emitted.
Positions count valid tokens only (instruction padding takes none), so a chunk does not depend on the
length of the other instructions in its batch (the service batches requests). The action tokenizer is
fitted when training starts and travels in the bundle as ``action_tokenizer.json``, like the ``fast``
head's; tokens become the chunk inside the graph (an affine map per value), so runtimes need no tokenizer.

Both decodings export to ONNX: ``parallel`` as one pass of the language model, ``autoregressive`` with its
``H * D`` cached steps unrolled (a copy of the language model's layers per step: the graph and the export
time grow with the chunk; on 2 busy cores, 13 s for parallel and 28 s / 121 s for 6 / 24 autoregressive
steps of a 1-layer tiny model; at experiment/openvla's sizes 30 s parallel, 222 s for 8 steps and over
20 minutes for its 32). ``model.action_head`` is not used: the language-model head is the action head.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from librobot.choices import ActionDecoding
from librobot.models.action_tokenizers.base import ActionTokenizer, build_action_tokenizer
from librobot.models.frameworks.base import BatchDict, VLAFramework
from librobot.models.vlm.hf_base import HFVLM, ByteTokenizer
from librobot.registry import REGISTRY, component_config, register_framework

IGNORE = -100  # cross-entropy target of padded steps
BYTE_TOKENIZER_IDS = 259  # ids the byte tokenizer of from_config models emits (256 bytes + 3 specials)


@dataclass
class OpenVLAStyleConfig:
    decoding: str = "autoregressive"  # autoregressive (OpenVLA) | parallel (OpenVLA-OFT)
    state: bool = True  # the state encoder's token(s) in the prompt, after the instruction
    tokenizer: dict[str, Any] = field(default_factory=lambda: {"name": "bins"})  # one token per value

    def __post_init__(self) -> None:
        node = dict(self.tokenizer)
        name = REGISTRY.canonical_name("action_tokenizer", str(node.get("name")))
        if name != "bins":
            raise ValueError(
                f"model.framework.tokenizer.name must be 'bins' (one vocabulary token per action value, as "
                f"OpenVLA); got {node.get('name')!r}"
            )
        checked = component_config("action_tokenizer", node, path="model.framework.tokenizer")
        self.tokenizer = {"name": name, **dataclasses.asdict(checked)}


class ActionLogits(nn.Module):
    """Logits of the action ids alone (the LM head's last ``bins`` rows): constrained decoding by
    construction. A module of its own, named ``action_out``, so int8 export keeps it float
    (``export.quant_keep_float``): near-ties here decide which token is taken."""

    def forward(self, hidden: torch.Tensor, weight_t: torch.Tensor) -> torch.Tensor:
        return hidden @ weight_t  # weight_t [D, bins], transposed once per call of generate, not per step


def attention_bias(valid: torch.Tensor, slots: int, bidirectional: bool, dtype: torch.dtype) -> torch.Tensor:
    """Additive mask ``[B, 1, P + S, P + S]`` over [prompt; slots]: causal, padding never attended to, and
    with ``bidirectional`` the slots also attend to each other (OpenVLA-OFT's parallel decoding)."""
    b, p = valid.shape
    keys = torch.cat([valid, valid.new_ones(b, slots)], dim=1)
    idx = torch.arange(p + slots, device=valid.device)
    allowed = idx[None, :] <= idx[:, None]
    if bidirectional:
        allowed = allowed | ((idx[:, None] >= p) & (idx[None, :] >= p))
    allowed = allowed[None] & keys[:, None, :]
    bias = torch.zeros(allowed.shape, dtype=dtype, device=valid.device)
    return bias.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def prompt_positions(valid: torch.Tensor, slots: int) -> torch.Tensor:
    """Positions ``[B, P + S]`` that count valid prompt tokens only: slots start right after the last one."""
    count = valid.long().cumsum(dim=1)
    first_slot = count[:, -1:]
    slot_pos = first_slot + torch.arange(slots, device=valid.device)[None]
    return torch.cat([(count - 1).clamp(min=0), slot_pos], dim=1)


@register_framework("openvla_style", aliases=["openvla"])
class OpenVLAStyle(VLAFramework):
    config_class = OpenVLAStyleConfig
    uses_action_tokenizer = True  # training fits its tokenizer; bundles carry it (action_tokenizers/bundle_file.py)

    def __init__(
        self, cfg: OpenVLAStyleConfig, model_cfg, state_dim, action_dim, action_horizon, obs_horizon=1, num_cameras=1
    ):
        super().__init__(model_cfg, state_dim, action_dim, action_horizon, obs_horizon, num_cameras)
        self.cfg = cfg
        self.decoding = ActionDecoding.parse(cfg.decoding, "model.framework.decoding")
        self._check_vlm(self.vlm, str(model_cfg.vlm.name))
        self.vlm.add_lm_head()
        tokenizer = build_action_tokenizer(cfg.tokenizer, action_horizon, action_dim, path="model.framework.tokenizer")
        self.bins = tokenizer.vocab_size
        self.vocab_size = int(self.vlm.lm_head_weight().shape[0])
        self.first_action_id = self.vocab_size - self.bins
        # a checkpoint's own tokenizer gives up its last ids, the least used, as OpenVLA's does
        reserved = BYTE_TOKENIZER_IDS if isinstance(self.vlm._tokenizer, ByteTokenizer) else 1
        if self.first_action_id < reserved:
            raise ValueError(
                f"model.vlm.vocab_size={self.vocab_size} has no room for {self.bins} action ids above the "
                f"{reserved} text ids: set it to at least {reserved + self.bins}"
            )
        self.max_tokens = tokenizer.num_codes  # H * D: one token per action value
        self.state_encoder = self.build_state_encoder(model_cfg) if cfg.state else None
        width = self.feature_dim
        if self.decoding == ActionDecoding.PARALLEL:
            self.action_queries = nn.Parameter(torch.randn(self.max_tokens, width) * 0.02)
        else:
            self.action_start = nn.Parameter(torch.randn(width) * 0.02)
        self.action_out = ActionLogits()
        self.set_action_tokenizer(tokenizer)

    @staticmethod
    def _check_vlm(vlm: Any, name: str) -> None:
        if not isinstance(vlm, HFVLM):
            raise ValueError(
                f"model.vlm={name}: openvla_style predicts actions with the VLM's language-model head, and this "
                "VLM has none; use a transformers VLM (qwen2_vl, paligemma, smolvlm)"
            )
        try:
            vlm.decoder()  # refuses encoder-decoder language models
        except ValueError as err:
            raise ValueError(f"model.vlm={name}: {err}") from None
        if vlm.cfg.freeze:
            raise ValueError(
                "model.vlm.freeze is true: openvla_style trains the VLM's language model to emit action tokens; "
                "set model.vlm.freeze=false"
            )
        if vlm.cfg.hidden_layer != -1:
            raise ValueError(
                f"model.vlm.hidden_layer={vlm.cfg.hidden_layer}: openvla_style reads the language model's last "
                "layer through its LM head; leave it at -1"
            )

    # -- the tokenizer: bins <-> the last ids of the vocabulary --------------------------------------------
    def set_action_tokenizer(self, tokenizer: ActionTokenizer) -> None:
        """Use ``tokenizer`` (fitted in training, or loaded from a bundle); its decoding becomes buffers,
        not saved with the weights: ``action_tokenizer.json`` is their one source."""
        want = dict(self.cfg.tokenizer)
        name = REGISTRY.canonical_name("action_tokenizer", want.pop("name"))
        got = dataclasses.asdict(tokenizer.cfg)
        if tokenizer.name != name or got != want:
            raise ValueError(
                f"action tokenizer {tokenizer.name} {got} does not match model.framework.tokenizer ({name} {want})"
            )
        shape = (tokenizer.action_horizon, tokenizer.action_dim)
        if shape != (self.action_horizon, self.action_dim):
            raise ValueError(
                f"action tokenizer is for chunks [{shape[0]}, {shape[1]}]; this model predicts "
                f"[{self.action_horizon}, {self.action_dim}] (action_horizon, action_dim)"
            )
        tables = tokenizer.decode_tables()
        ids = np.arange(self.bins)
        single = (tables.token_lengths == 1).all() and (tables.token_codes[:, 0] == ids).all()
        diagonal = np.allclose(tables.linear, np.diag(np.diag(tables.linear)))
        if not (single and diagonal and tokenizer.vocab_size == self.bins):
            raise ValueError(
                f"the {tokenizer.name} tokenizer does not map each token to one action value; "
                "model.framework.tokenizer must be the bins tokenizer"
            )
        device = self.vlm.lm_head_weight().device
        scale = torch.tensor(np.diag(tables.linear), dtype=torch.float32)
        self.register_buffer("decode_scale", scale.to(device), persistent=False)
        offset = torch.as_tensor(tables.offset, dtype=torch.float32)
        self.register_buffer("decode_offset", offset.to(device), persistent=False)
        self.action_tokenizer = tokenizer

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Bins ``[B, H * D]`` -> normalized chunk ``[B, H, D]`` (bin centres, as the tokenizer decodes)."""
        flat = codes.to(self.decode_scale.dtype) * self.decode_scale + self.decode_offset
        return flat.reshape(-1, self.action_horizon, self.action_dim)

    def encode_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Normalized chunks ``[B, H, D]`` -> vocabulary ids ``[B, H * D]`` (the tokenizer bins on CPU)."""
        expected = (self.action_horizon, self.action_dim)
        if actions.dim() != 3 or tuple(actions.shape[1:]) != expected:
            raise ValueError(
                f"actions have shape {tuple(actions.shape)}; this model expects [B, {expected[0]}, {expected[1]}] "
                "(action_horizon, action_dim)"
            )
        codes = self.action_tokenizer.encode(actions.detach().float().cpu().numpy())
        return torch.as_tensor(codes, dtype=torch.long, device=actions.device) + self.first_action_id

    # -- the prompt ----------------------------------------------------------------------------------------
    def features(self, images, state, input_ids, attention_mask, state_is_pad=None, use_cache=True):
        """The language model's prompt: [image tokens; instruction; state token(s)] embeddings and validity."""
        img = self.vlm.embed_images(images)
        txt = self.vlm.embed_text(input_ids).to(img.dtype)
        parts = [img, txt]
        valid = [torch.ones(img.shape[:2], dtype=torch.bool, device=img.device), attention_mask.bool()]
        if self.state_encoder is not None:
            tokens = self.state_encoder(state, state_is_pad).to(img.dtype)
            parts.append(tokens)
            valid.append(torch.ones(tokens.shape[:2], dtype=torch.bool, device=img.device))
        return torch.cat(parts, dim=1), torch.cat(valid, dim=1)

    def _run(self, prompt: torch.Tensor, valid: torch.Tensor, slots: torch.Tensor, cache: Any = None):
        """Hidden states of the slots appended to the prompt (causal, or bidirectional among parallel slots)."""
        n = slots.shape[1]
        bias = attention_bias(valid, n, self.decoding == ActionDecoding.PARALLEL, prompt.dtype)
        hidden = self.vlm.run_decoder(torch.cat([prompt, slots], dim=1), bias, prompt_positions(valid, n), cache)
        return hidden[:, -n:]

    def _slots(self, prompt: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """Slot inputs: placeholders (parallel), or [start; embeddings of the targets but the last] (training
        autoregressive), or the start embedding alone (autoregressive inference: the rest come one at a time)."""
        b = prompt.shape[0]
        if self.decoding == ActionDecoding.PARALLEL:
            return self.action_queries[None].expand(b, -1, -1).to(prompt.dtype)
        start = self.action_start.to(prompt.dtype).expand(b, 1, -1)
        if targets is None:
            return start
        return torch.cat([start, self.vlm.embed_text(targets[:, :-1]).to(prompt.dtype)], dim=1)

    # -- the contract --------------------------------------------------------------------------------------
    def noise_shape(self, batch_size: int) -> None:
        return None  # greedy decoding: nothing is sampled

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """The VLM (its LM head too where it is tied to the embeddings), the state encoder, and the action
        side: the slot embeddings and an untied LM head."""
        groups: dict[str, list[nn.Parameter]] = {"vlm": [], "encoder": [], "action_head": []}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            if name.startswith(("action_", "vlm.lm_head.")):
                groups["action_head"].append(param)
            else:
                groups["vlm" if name.startswith("vlm.") else "encoder"].append(param)
        return groups

    def forward(self, batch: BatchDict) -> dict[str, torch.Tensor]:
        prompt, valid = self._batch_features(batch)
        targets = self.encode_actions(batch["actions"])
        hidden = self._run(prompt, valid, self._slots(prompt, targets))
        logits = F.linear(hidden, self.vlm.lm_head_weight())
        pad = batch.get("action_is_pad")
        labels = targets
        if pad is not None:  # time-major tokens: step t's D values share its padding flag
            pad = pad.to(targets.device).bool().repeat_interleave(self.action_dim, dim=1)
            labels = targets.masked_fill(pad, IGNORE)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)
        real = labels != IGNORE
        predicted = logits[..., self.first_action_id :].argmax(-1) + self.first_action_id
        accuracy = ((predicted == labels) & real).sum() / real.sum().clamp(min=1)
        return {"loss": loss, "token_accuracy": accuracy.detach()}

    def generate(self, prompt: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Greedy, constrained decoding: bins ``[B, H * D]`` (vocabulary id minus ``first_action_id``)."""
        weight_t = self.vlm.lm_head_weight()[self.first_action_id :].t()
        if self.decoding == ActionDecoding.PARALLEL:
            return self.action_out(self._run(prompt, valid, self._slots(prompt)), weight_t).argmax(-1)
        cache = self.vlm.new_cache()
        hidden = self._run(prompt, valid, self._slots(prompt), cache)[:, -1]
        keys = torch.cat([valid, valid.new_ones(valid.shape[0], 1)], dim=1)
        position = valid.long().sum(dim=1, keepdim=True)  # the start slot's
        codes = []
        for step in range(self.max_tokens):  # unrolled in the exported graph
            code = self.action_out(hidden, weight_t).argmax(-1)
            codes.append(code)
            if step == self.max_tokens - 1:
                break
            keys = torch.cat([keys, keys.new_ones(keys.shape[0], 1)], dim=1)
            bias = torch.zeros(keys.shape, dtype=prompt.dtype, device=keys.device)
            bias = bias.masked_fill(~keys, torch.finfo(prompt.dtype).min)[:, None, None]
            embed = self.vlm.embed_text(code[:, None] + self.first_action_id).to(prompt.dtype)
            hidden = self.vlm.run_decoder(embed, bias, position + step + 1, cache)[:, -1]
        return torch.stack(codes, dim=1)

    @torch.no_grad()
    def predict(self, batch: BatchDict, noise: torch.Tensor | None = None) -> torch.Tensor:
        prompt, valid = self._batch_features(batch)
        return self.decode_codes(self.generate(prompt, valid))

    def export_forward(self, images, state, input_ids, attention_mask, noise=None) -> torch.Tensor:
        prompt, valid = self.features(images, state, input_ids, attention_mask, use_cache=False)
        return self.decode_codes(self.generate(prompt, valid))
