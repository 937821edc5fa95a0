"""Qwen2-VL through transformers: ViT with 2x2 patch merging, features from a chosen LM layer.

Images go in as Qwen2-VL's flattened patches (the layout its image processor produces: each still
image repeated over the temporal patch, patches grouped by the 2x2 spatial merge).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from librobot.models.vlm.hf_base import HFVLM, HFVLMConfig
from librobot.registry import register_vlm


@dataclass
class Qwen2VLConfig(HFVLMConfig):
    image_size: int = 224  # a multiple of patch_size * 2 (the spatial merge)
    image_mean: list[float] = field(default_factory=lambda: [0.48145466, 0.4578275, 0.40821073])
    image_std: list[float] = field(default_factory=lambda: [0.26862954, 0.26130258, 0.27577711])


@register_vlm("qwen2_vl", aliases=["qwen2-vl"])
class Qwen2VLBackbone(HFVLM):
    config_class = Qwen2VLConfig
    display_name = "Qwen2-VL"

    def __init__(self, cfg: Qwen2VLConfig, num_cameras: int = 1):
        super().__init__(cfg, num_cameras)
        vision = self.model.config.vision_config
        unit = vision.patch_size * vision.spatial_merge_size
        if cfg.image_size % unit:
            raise ValueError(
                f"vlm.image_size={cfg.image_size} must be a multiple of patch_size x spatial_merge_size = {unit}"
            )

    def model_class(self):
        from transformers import Qwen2VLModel

        return Qwen2VLModel

    def tiny_config(self, cfg):
        from transformers import Qwen2VLConfig as HFConfig

        head_dim = cfg.hidden_size // cfg.num_heads
        quarter = head_dim // 2 // 4  # M-RoPE sections (temporal, height, width) cover head_dim / 2
        section = [head_dim // 2 - 2 * quarter, quarter, quarter]
        return HFConfig(
            text_config=dict(
                hidden_size=cfg.hidden_size,
                num_hidden_layers=cfg.num_layers,
                num_attention_heads=cfg.num_heads,
                num_key_value_heads=cfg.num_heads,
                intermediate_size=2 * cfg.hidden_size,
                vocab_size=cfg.vocab_size,
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=0,
                rope_parameters={"rope_type": "default", "mrope_section": section, "rope_theta": 10000.0},
            ),
            vision_config=dict(
                depth=cfg.vision_layers,
                embed_dim=cfg.vision_hidden_size,
                hidden_size=cfg.hidden_size,
                num_heads=cfg.num_heads,
                patch_size=cfg.patch_size,
                spatial_merge_size=2,
                temporal_patch_size=2,
            ),
        )

    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        vision = self.model.config.vision_config
        n, c, s, _ = pixels.shape
        p, m, tp = vision.patch_size, vision.spatial_merge_size, vision.temporal_patch_size
        g = s // p
        patches = (
            pixels[:, None]
            .expand(n, tp, c, s, s)
            .reshape(n, tp, c, g // m, m, p, g // m, m, p)
            .permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
            .reshape(n * g * g, c * tp * p * p)
        )
        grid = torch.tensor([[1, g, g]], device=pixels.device).expand(n, 3)
        out = self.model.get_image_features(patches, image_grid_thw=grid).pooler_output
        return torch.stack(list(out))

    def language_hidden_states(self, embeds, mask):
        return self.model.language_model(
            inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True
        ).hidden_states
