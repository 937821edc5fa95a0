"""Florence-2 through transformers (native ``Florence2Model`` in transformers 5): DaViT vision tower +
projector, BART-style encoder-decoder. Features are the multimodal encoder's hidden states (image
tokens + instruction) at a chosen layer; the decoder, made for text generation, is not run."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from librobot.models.vlm.hf_base import HFVLM, HFVLMConfig
from librobot.registry import register_vlm


@dataclass
class Florence2Config(HFVLMConfig):
    image_size: int = 768
    image_mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    image_std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])


@register_vlm("florence2", aliases=["florence-2", "florence_2"])
class Florence2Backbone(HFVLM):
    config_class = Florence2Config
    display_name = "Florence-2"

    def model_class(self):
        from transformers import Florence2Model

        return Florence2Model

    def tiny_config(self, cfg):
        from transformers import Florence2Config as HFConfig

        v = cfg.vision_hidden_size
        return HFConfig(
            vision_config=dict(
                depths=[1] * cfg.vision_layers,
                patch_size=[7] + [3] * (cfg.vision_layers - 1),
                patch_stride=[4] + [2] * (cfg.vision_layers - 1),
                patch_padding=[3] + [1] * (cfg.vision_layers - 1),
                patch_prenorm=[False] + [True] * (cfg.vision_layers - 1),
                embed_dim=[v * 2**i for i in range(cfg.vision_layers)],
                num_heads=[cfg.num_heads] * cfg.vision_layers,
                num_groups=[cfg.num_heads] * cfg.vision_layers,
                window_size=4,
                projection_dim=cfg.hidden_size,
            ),
            text_config=dict(
                model_type="bart",
                d_model=cfg.hidden_size,
                encoder_layers=cfg.num_layers,
                decoder_layers=cfg.num_layers,
                encoder_attention_heads=cfg.num_heads,
                decoder_attention_heads=cfg.num_heads,
                encoder_ffn_dim=2 * cfg.hidden_size,
                decoder_ffn_dim=2 * cfg.hidden_size,
                vocab_size=cfg.vocab_size,
                max_position_embeddings=1024,
            ),
        )

    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(pixels).pooler_output

    def language_hidden_states(self, embeds, mask):
        encoder = self.model.language_model.encoder
        return encoder(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True).hidden_states
