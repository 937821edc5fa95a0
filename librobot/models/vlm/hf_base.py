"""Shared wrapper over a transformers vision-language model (Qwen2-VL, PaliGemma, SmolVLM, Florence-2).

The wrapper runs the model's own vision tower and projector on the camera images, puts the image
tokens in front of the instruction's token embeddings, runs the language model (the text encoder
for Florence-2) and returns the hidden states of ``hidden_layer``. Each subclass says how its model
builds a tiny config, embeds images and runs its language stack.

Weights come from ``pretrained_path``: a local directory, or a repo id already in the local
Hugging Face cache. Nothing is downloaded. ``from_config: true`` builds the model random-initialized
from the size fields instead (tests, or training a small model from scratch), with a byte-level
tokenizer since no tokenizer files exist then.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from librobot.models.vlm.base import VLMBackbone, check_images


@dataclass
class HFVLMConfig:
    pretrained_path: str | None = None  # local directory, or a repo id present in the local HF cache
    from_config: bool = False  # random-initialized from the size fields below (no weights needed)
    hidden_layer: int = -1  # which hidden states to return (negative counts from the top)
    image_size: int = 224
    max_text_length: int = 32
    freeze: bool = True
    image_mean: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    image_std: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    # sizes used with from_config
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    vision_hidden_size: int = 32
    vision_layers: int = 2
    patch_size: int = 14
    vocab_size: int = 1024


class ByteTokenizer:
    """UTF-8 bytes as token ids (0 = pad, 1 = start): a real, reversible tokenizer for models built
    from config, which have no tokenizer files."""

    def __init__(self, vocab_size: int, max_length: int):
        if vocab_size < 259:
            raise ValueError(
                f"vlm.vocab_size must be >= 259 for the byte tokenizer (256 bytes + 3 specials), got {vocab_size}"
            )
        self.max_length = max_length
        # what librobot.inference.tokenizer.save_tokenizer reads of a transformers tokenizer
        self.model_max_length, self.pad_token_id, self.padding_side = max_length, 0, "right"

    @property
    def backend_tokenizer(self) -> Any:
        """The same ids from the ``tokenizers`` library, so an exported policy tokenizes without torch:
        byte-level characters, one token each (BPE without merges), the start token in front."""
        from tokenizers import Tokenizer, models, pre_tokenizers, processors

        chars = _byte_chars()
        vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, **{chars[b]: b + 3 for b in range(256)}}
        tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
        return tok

    def __call__(self, texts: list[str] | str) -> dict[str, torch.Tensor]:
        texts = [texts] if isinstance(texts, str) else texts
        rows = [[1, *(b + 3 for b in t.encode("utf-8"))][: self.max_length] for t in texts]
        length = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def _byte_chars() -> list[str]:
    """GPT-2's byte -> printable character map, the one ``pre_tokenizers.ByteLevel`` applies."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b], extra = chr(256 + extra), extra + 1
    return [chars[b] for b in range(256)]


def resolve_pretrained(path_or_id: str, what: str) -> Path:
    """A local directory as is; otherwise a repo id looked up in the local HF cache only."""
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"vlm.pretrained_path: {path} has no config.json; is it a {what} checkpoint?")
        return path
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return Path(snapshot_download(path_or_id, local_files_only=True))
    except Exception:
        raise FileNotFoundError(
            f"vlm.pretrained_path: no {what} weights at {path_or_id!r}: not a local directory and not in the "
            f"local Hugging Face cache ({HF_HUB_CACHE}). Nothing is downloaded at run time: put the checkpoint "
            "there, or set vlm.from_config: true for a random-initialized model."
        ) from None


class HFVLM(VLMBackbone):
    """Base of the transformers wrappers; subclasses fill in the model-specific hooks."""

    display_name = "VLM"
    # True where the vision tower only takes the checkpoint's own image size (no interpolation)
    fixed_image_size = False

    def __init__(self, cfg: HFVLMConfig, num_cameras: int = 1):
        super().__init__()
        self.cfg, self.num_cameras = cfg, num_cameras
        self.checkpoint_dir: Path | None = None
        if cfg.from_config:
            self.model = self.model_class()(self.tiny_config(cfg))
            self._tokenizer: Any = ByteTokenizer(cfg.vocab_size, cfg.max_text_length)
        elif cfg.pretrained_path:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            path = resolve_pretrained(cfg.pretrained_path, self.display_name)
            self.checkpoint_dir = path
            self.model = self.model_class().from_pretrained(str(path))
            self._tokenizer = self.load_tokenizer(path)
        else:
            raise ValueError(
                f"vlm ({self.display_name}): set pretrained_path (a local directory or cached repo id) "
                "or from_config: true"
            )
        expected = self.model.config.vision_config.image_size if self.fixed_image_size else cfg.image_size
        if cfg.image_size != expected:
            raise ValueError(
                f"vlm.image_size={cfg.image_size}; this {self.display_name}'s vision tower takes {expected}"
            )
        self.feature_dim = self.text_hidden_size()
        layers = self.num_hidden_layers()
        if not -(layers + 1) <= cfg.hidden_layer <= layers:
            raise ValueError(f"vlm.hidden_layer={cfg.hidden_layer} is out of range for a {layers}-layer language model")
        self.register_buffer("pixel_mean", torch.tensor(cfg.image_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(cfg.image_std).view(1, 3, 1, 1), persistent=False)
        if cfg.freeze:
            self.freeze(self.model)
        self.train()

    # -- hooks for subclasses -----------------------------------------------------------------------
    @abc.abstractmethod
    def model_class(self) -> type[nn.Module]:
        """Every registered subclass implements this."""

    @abc.abstractmethod
    def tiny_config(self, cfg: HFVLMConfig) -> Any:
        """Every registered subclass implements this."""

    @abc.abstractmethod
    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Normalized images [N, 3, S, S] -> [N, n_tokens, text hidden] in the language model's space."""
        """Every registered subclass implements this."""

    @abc.abstractmethod
    def language_hidden_states(self, embeds: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Every registered subclass implements this."""

    def text_config(self) -> Any:
        return self.model.config.text_config

    def text_hidden_size(self) -> int:
        cfg = self.text_config()
        return int(getattr(cfg, "hidden_size", None) or cfg.d_model)

    def num_hidden_layers(self) -> int:
        cfg = self.text_config()
        return int(getattr(cfg, "num_hidden_layers", None) or cfg.encoder_layers)

    def load_tokenizer(self, path: Path) -> Any:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(path))
        tok.padding_side = "right"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return tok

    # -- the VLM contract ---------------------------------------------------------------------------
    def frozen_modules(self) -> list[nn.Module]:
        return [self.model] if self.cfg.freeze else []

    def tokenize(self, instructions: list[str]) -> dict[str, torch.Tensor]:
        if isinstance(self._tokenizer, ByteTokenizer):
            return self._tokenizer(list(instructions))
        enc = self._tokenizer(
            list(instructions), padding=True, truncation=True, max_length=self.cfg.max_text_length, return_tensors="pt"
        )
        return {"input_ids": enc["input_ids"].long(), "attention_mask": enc["attention_mask"].long()}

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = images.flatten(0, 1).float() / 255.0
        size = self.cfg.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return (x - self.pixel_mean) / self.pixel_std

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images ``[B, n_cam, 3, H, W]`` -> image tokens ``[B, n_cam * n, D]`` in the language model's input space."""
        check_images(images, self.num_cameras)
        img = self.image_tokens(self.preprocess(images))
        return img.reshape(images.shape[0], -1, img.shape[-1])

    def forward(
        self, images: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor, use_cache: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b = images.shape[0]
        img = self.embed_images(images)
        txt = self.model.get_input_embeddings()(input_ids).to(img.dtype)
        mask = torch.cat([torch.ones(b, img.shape[1], dtype=torch.long, device=img.device), attention_mask.long()], 1)
        hidden = self.language_hidden_states(torch.cat([img, txt], dim=1), mask)
        return hidden[self.cfg.hidden_layer].float(), mask.bool()

    # -- the language model as a next-token predictor (frameworks that emit vocabulary tokens) ------------
    def decoder(self) -> nn.Module:
        """The decoder-only language model that reads ``[image tokens; text]`` (transformers' ``get_decoder``)."""
        if getattr(self.text_config(), "is_encoder_decoder", False):
            raise ValueError(
                f"vlm {self.display_name}: its language model is an encoder-decoder; predicting tokens after "
                "[images; instruction] needs a decoder-only one (qwen2_vl, paligemma, smolvlm)"
            )
        return self.model.get_decoder()

    def run_decoder(
        self, embeds: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor, cache: Any = None
    ) -> torch.Tensor:
        """Last hidden states (after the final norm) of ``embeds`` ``[B, L, D]``.

        ``attention_mask`` is additive and 4D, ``[B, 1, L, past + L]`` (0 where a query may attend), so the
        caller decides who sees whom; ``position_ids`` ``[B, L]``. ``cache`` (``new_cache()``) grows in place.
        """
        out = self.decoder()(
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=cache,
            use_cache=cache is not None,
        )
        return out.last_hidden_state

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.decoder().config)

    def embed_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(input_ids)

    def ties_lm_head(self) -> bool:
        tie = getattr(self.model.config, "tie_word_embeddings", None)
        return bool(tie if tie is not None else getattr(self.text_config(), "tie_word_embeddings", False))

    def add_lm_head(self) -> None:
        """Give the wrapper the language-model head its base model lacks (the wrappers load ``*Model``, not
        ``*ForConditionalGeneration``). Called by frameworks that predict tokens, so others keep their state
        dict: tied models reuse the input embeddings; untied ones get ``lm_head``, read from the checkpoint or,
        with from_config, random-initialized as transformers initializes it."""
        if self.ties_lm_head() or isinstance(getattr(self, "lm_head", None), nn.Linear):
            return
        vocab, width = self.model.get_input_embeddings().weight.shape
        head = nn.Linear(width, vocab, bias=False)
        if self.checkpoint_dir is None:
            nn.init.normal_(head.weight, std=float(getattr(self.text_config(), "initializer_range", 0.02)))
        else:
            head.weight.data.copy_(_checkpoint_tensor(self.checkpoint_dir, "lm_head.weight", (vocab, width)))
        self.lm_head = head.requires_grad_(not self.cfg.freeze)

    def lm_head_weight(self) -> torch.Tensor:
        """``[vocab, D]``: logits are ``hidden @ weight.T`` (call ``add_lm_head`` first where it is untied)."""
        if self.ties_lm_head():
            return self.model.get_input_embeddings().weight
        head = getattr(self, "lm_head", None)
        if head is None:
            raise RuntimeError(f"vlm {self.display_name}: its LM head is untied; call add_lm_head() first")
        return head.weight


def _checkpoint_tensor(directory: Path, suffix: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The tensor whose key ends with ``suffix`` in the checkpoint's safetensors files."""
    from safetensors import safe_open

    for file in sorted(directory.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118  (safe_open has keys(), no __iter__)
                if key == suffix or key.endswith("." + suffix):
                    tensor = f.get_tensor(key)
                    if tuple(tensor.shape) != shape:
                        raise ValueError(f"{file}: {key} has shape {tuple(tensor.shape)}; the model expects {shape}")
                    return tensor
    raise FileNotFoundError(
        f"vlm.pretrained_path: {directory} has no {suffix} (the language-model head of an untied checkpoint); "
        "predicting tokens needs the *ForConditionalGeneration checkpoint, not the base model's"
    )
