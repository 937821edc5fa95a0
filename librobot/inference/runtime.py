"""Runtimes: the one step of a policy that differs between torch and ONNX Runtime.

``run(images, state, instructions, noise) -> normalized action chunk [B, H, Da]`` with numpy in
and out. ``images`` uint8 ``[B, n_cam, 3, H, W]``, ``state`` normalized float32 ``[B, T, Ds]``,
``noise`` float32 ``[B, H, Da]`` (or None for heads that do not sample).

An exported policy graph takes the instruction either as token ids (one graph) or as the text
graph's features (``text_features.py``: computed once per instruction, cached by token ids); the
runtime reads which from the graph's inputs, so bundles exported either way run alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from librobot.inference.text_features import TEXT_ONNX_FILE, TextFeatures, takes_text_features
from librobot.inference.tokenizer import TextTokenizer

# input names of every exported policy graph, in export_forward's argument order
ONNX_INPUTS = ("images", "state", "input_ids", "attention_mask", "noise")
# ... and of a policy graph that takes the instruction's features, in export_forward_from_text's order
ONNX_INPUTS_FROM_TEXT = ("images", "state", "text_tokens", "text_mask", "noise")
ONNX_OUTPUT = "actions"


class PolicyRuntime(Protocol):
    """What runs a policy's network: torch eager or an ONNX Runtime session (``Policy`` holds one)."""

    name: str

    def samples(self) -> bool:
        """True when the network samples from noise (a ``noise`` [B, H, Da] input)."""
        ...

    def run(
        self, images: np.ndarray, state: np.ndarray, instructions: list[str], noise: np.ndarray | None
    ) -> np.ndarray:
        """Normalized action chunks [B, H, Da] for uint8 images [B, n_cam, 3, H, W] and normalized state."""
        ...


class TorchRuntime:
    name = "torch"

    def __init__(self, model: Any) -> None:
        self.model = model
        model.vlm.stop_caching_images()

    def samples(self) -> bool:
        return self.model.noise_shape(1) is not None

    def run(
        self, images: np.ndarray, state: np.ndarray, instructions: list[str], noise: np.ndarray | None
    ) -> np.ndarray:
        import torch

        batch = {
            "images": torch.from_numpy(np.ascontiguousarray(images)),
            "state": torch.from_numpy(np.ascontiguousarray(state, dtype=np.float32)),
            "instruction": list(instructions),
        }
        with torch.inference_mode():
            out = self.model.predict(batch, noise=None if noise is None else torch.from_numpy(noise))
        return out.detach().float().cpu().numpy()


class OrtRuntime:
    """An exported policy graph in ONNX Runtime, with the tokenizer files (and text graph) stored beside it.

    ``text`` is the instruction's features behind their cache when the graph takes them (else None).
    """

    def __init__(self, onnx_path: str | Path, tokenizer_dir: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(onnx_path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} does not exist: run `librobot export --policy <bundle>` first")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = TextTokenizer.load(tokenizer_dir)
        self.text: TextFeatures | None = None
        if takes_text_features(self.input_names):
            self.text = TextFeatures(self.path.parent / TEXT_ONNX_FILE, threads=threads)
        self.name = "onnx"

    def samples(self) -> bool:
        return "noise" in self.input_names

    def run(
        self, images: np.ndarray, state: np.ndarray, instructions: list[str], noise: np.ndarray | None
    ) -> np.ndarray:
        tokens = self.tokenizer(instructions)
        feeds = {
            "images": np.ascontiguousarray(images, dtype=np.uint8),
            "state": np.ascontiguousarray(state, dtype=np.float32),
        }
        if self.text is not None:
            feeds["text_tokens"], feeds["text_mask"] = self.text(tokens["input_ids"], tokens["attention_mask"])
        else:
            feeds.update(tokens)
        if self.samples():
            if noise is None:
                raise ValueError(f"{self.path.name} samples from noise: pass noise [B, H, Da]")
            feeds["noise"] = np.ascontiguousarray(noise, dtype=np.float32)
        feeds = {k: v for k, v in feeds.items() if k in self.input_names}
        return self.session.run([ONNX_OUTPUT], feeds)[0]
