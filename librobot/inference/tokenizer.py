"""The instruction tokenizer, carried next to an exported graph so serving needs no torch.

At export the framework's Hugging Face tokenizer is saved as ``tokenizer.json`` (the fast
``tokenizers`` format) plus ``tokenization.json`` with the padding/truncation that
``framework.tokenize`` applies. ``TextTokenizer`` reproduces ``framework.tokenize`` with the
``tokenizers`` library alone; ``save_tokenizer`` checks that it does, token for token.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "tokenization.json"
_PROBES = ("", "a", "pick up the red block and place it in the bin", "reach " * 200)


class TextTokenizer:
    def __init__(self, tokenizer: Any, settings: dict[str, Any]) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        max_length = settings.get("max_length")
        if max_length:
            tokenizer.enable_truncation(max_length=int(max_length))
        else:
            tokenizer.no_truncation()
        if settings["padding"] == "max_length" and max_length:
            tokenizer.enable_padding(pad_id=settings["pad_id"], length=int(max_length), direction=settings["side"])
        else:
            tokenizer.enable_padding(pad_id=settings["pad_id"], direction=settings["side"])

    @classmethod
    def load(cls, directory: str | Path) -> TextTokenizer:
        from tokenizers import Tokenizer

        directory = Path(directory)
        for name in (TOKENIZER_FILE, SETTINGS_FILE):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory / name} is missing: re-export the policy")
        settings = json.loads((directory / SETTINGS_FILE).read_text())
        return cls(Tokenizer.from_file(str(directory / TOKENIZER_FILE)), settings)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask}


def find_hf_tokenizer(model: Any) -> Any:
    """The Hugging Face fast tokenizer a framework tokenizes with (``tokenizer`` or ``_tokenizer`` of a module)."""
    seen = [model]
    modules = list(model.modules()) if hasattr(model, "modules") else [model]
    for module in seen + modules:
        for attr in ("tokenizer", "_tokenizer"):
            tok = getattr(module, attr, None)
            if tok is not None and hasattr(tok, "backend_tokenizer"):
                return tok
    raise ValueError(
        f"{type(model).__name__} exposes no Hugging Face fast tokenizer (an attribute 'tokenizer' with "
        "backend_tokenizer): the exported policy could not tokenize instructions without torch"
    )


def save_tokenizer(model: Any, directory: str | Path, instructions: Sequence[str] = ()) -> Path:
    """Save the framework's tokenizer for ONNX serving and check it matches ``model.tokenize``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hf = find_hf_tokenizer(model)
    hf.backend_tokenizer.save(str(directory / TOKENIZER_FILE))
    short = _as_numpy(model.tokenize(["a"]))
    long = _as_numpy(model.tokenize([_PROBES[-1]]))
    max_length = getattr(hf, "model_max_length", None)
    truncated_at = long["input_ids"].shape[1]
    settings: dict[str, Any] = {
        "padding": "max_length" if short["input_ids"].shape[1] == truncated_at else "longest",
        "max_length": truncated_at if truncated_at < len(hf(_PROBES[-1])["input_ids"]) else max_length,
        "pad_id": int(hf.pad_token_id if hf.pad_token_id is not None else 0),
        "side": getattr(hf, "padding_side", "right"),
    }
    if settings["max_length"] is not None and settings["max_length"] > 10**6:
        settings["max_length"] = None  # "no limit" sentinel of transformers
    (directory / SETTINGS_FILE).write_text(json.dumps(settings, indent=2))
    tokenizer = TextTokenizer.load(directory)
    texts = list(_PROBES) + list(instructions)
    expected, got = _as_numpy(model.tokenize(texts)), tokenizer(texts)
    for key in ("input_ids", "attention_mask"):
        if expected[key].shape != got[key].shape or not np.array_equal(expected[key], got[key]):
            raise ValueError(
                f"the saved tokenizer disagrees with {type(model).__name__}.tokenize on {key} "
                f"(shapes {got[key].shape} vs {expected[key].shape}); settings {settings}"
            )
    return directory


def _as_numpy(tokens: dict[str, Any]) -> dict[str, np.ndarray]:
    return {
        k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.int64)
        for k, v in tokens.items()
    }
