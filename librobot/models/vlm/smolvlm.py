"""SmolVLM (Idefics3 architecture) through transformers: SigLIP-style encoder, pixel-shuffle connector,
Llama-style text model; features from a chosen layer. Each camera image enters as one image (no
splitting into sub-images)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from librobot.models.vlm.hf_base import HFVLM, HFVLMConfig
from librobot.registry import register_vlm


@dataclass
class SmolVLMConfig(HFVLMConfig):
    image_size: int = 512  # SmolVLM's tile size; must match the checkpoint's vision_config.image_size
    scale_factor: int = 2  # pixel-shuffle factor of the connector (from_config only)


@register_vlm("smolvlm", aliases=["idefics3", "smol_vlm"])
class SmolVLMBackbone(HFVLM):
    config_class = SmolVLMConfig
    display_name = "SmolVLM (Idefics3)"
    fixed_image_size = True

    def model_class(self):
        from transformers import Idefics3Model

        return Idefics3Model

    def tiny_config(self, cfg):
        from transformers import Idefics3Config

        return Idefics3Config(
            vision_config=dict(
                hidden_size=cfg.vision_hidden_size,
                num_hidden_layers=cfg.vision_layers,
                num_attention_heads=cfg.num_heads,
                intermediate_size=2 * cfg.vision_hidden_size,
                image_size=cfg.image_size,
                patch_size=cfg.patch_size,
            ),
            text_config=dict(
                model_type="llama",
                hidden_size=cfg.hidden_size,
                num_hidden_layers=cfg.num_layers,
                num_attention_heads=cfg.num_heads,
                num_key_value_heads=cfg.num_heads,
                intermediate_size=2 * cfg.hidden_size,
                vocab_size=cfg.vocab_size,
            ),
            scale_factor=cfg.scale_factor,
        )

    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        out = self.model.get_image_features(pixels[:, None]).pooler_output  # one image per row
        return torch.stack(list(out))

    def language_hidden_states(self, embeds, mask):
        return self.model.text_model(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True).hidden_states
