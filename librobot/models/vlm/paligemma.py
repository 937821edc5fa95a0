"""PaliGemma through transformers: SigLIP vision tower + linear projector + Gemma, features from a chosen layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from librobot.models.vlm.hf_base import HFVLM, HFVLMConfig
from librobot.registry import register_vlm


@dataclass
class PaliGemmaConfig(HFVLMConfig):
    image_size: int = 224  # must match the checkpoint's vision_config.image_size


@register_vlm("paligemma", aliases=["pali_gemma"])
class PaliGemmaBackbone(HFVLM):
    config_class = PaliGemmaConfig
    display_name = "PaliGemma"
    fixed_image_size = True

    def model_class(self):
        from transformers import PaliGemmaModel

        return PaliGemmaModel

    def tiny_config(self, cfg):
        from transformers import PaliGemmaConfig as HFConfig

        return HFConfig(
            vision_config=dict(
                model_type="siglip_vision_model",
                hidden_size=cfg.vision_hidden_size,
                num_hidden_layers=cfg.vision_layers,
                num_attention_heads=cfg.num_heads,
                intermediate_size=2 * cfg.vision_hidden_size,
                image_size=cfg.image_size,
                patch_size=cfg.patch_size,
                projection_dim=cfg.hidden_size,
            ),
            text_config=dict(
                model_type="gemma",
                hidden_size=cfg.hidden_size,
                num_hidden_layers=cfg.num_layers,
                num_attention_heads=cfg.num_heads,
                num_key_value_heads=1,
                head_dim=cfg.hidden_size // cfg.num_heads,
                intermediate_size=2 * cfg.hidden_size,
                vocab_size=cfg.vocab_size,
            ),
            projection_dim=cfg.hidden_size,
        )

    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(pixels).pooler_output

    def language_hidden_states(self, embeds, mask):
        return self.model.language_model(
            inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True
        ).hidden_states
