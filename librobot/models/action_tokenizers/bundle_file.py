"""``action_tokenizer.json``: the fitted action tokenizer, a bundle file beside normalization.json.

A head that reads action tokens (``uses_action_tokenizer = True``: the ``fast`` head) builds its
decoding tables from the tokenizer fitted at the start of training; the bundle carries that
tokenizer as JSON (never a pickle), and ``load_bundle`` hands it back to the rebuilt head, so export
and serving decode exactly as training encoded. Bundles of other heads have no such file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from librobot.checkpoint import write_text_atomic
from librobot.models.action_tokenizers.base import ActionTokenizer, tokenizer_from_dict
from librobot.policy_spec import BundleError

ACTION_TOKENIZER_FILE = "action_tokenizer.json"


def tokenizer_head(model: Any) -> Any | None:
    """The model's action head when it reads action tokens, else None (``model`` may be the head itself)."""
    head = getattr(model, "action_head", model)
    return head if getattr(head, "uses_action_tokenizer", False) else None


def model_action_tokenizer(model: Any) -> ActionTokenizer | None:
    head = tokenizer_head(model)
    return head.action_tokenizer if head is not None else None


def save_action_tokenizer(tokenizer: ActionTokenizer, directory: str | Path) -> Path:
    path = Path(directory) / ACTION_TOKENIZER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(tokenizer.to_dict(), indent=1))
    return path


def load_action_tokenizer(directory: str | Path) -> ActionTokenizer | None:
    """The tokenizer saved in ``directory``, or None when there is no ``action_tokenizer.json``."""
    path = Path(directory) / ACTION_TOKENIZER_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    return tokenizer_from_dict(data, where=str(path))


def attach_action_tokenizer(model: Any, directory: str | Path) -> None:
    """Give a head that reads action tokens the tokenizer saved in the bundle ``directory`` (no-op for others)."""
    head = tokenizer_head(model)
    if head is None:
        return
    path = Path(directory) / ACTION_TOKENIZER_FILE
    try:
        tokenizer = load_action_tokenizer(directory)
        if tokenizer is None:
            raise ValueError(
                f"{path} is missing: the {type(head).__name__} decodes action tokens with the tokenizer fitted "
                "in training, and this bundle does not carry it"
            )
        head.set_action_tokenizer(tokenizer)
    except ValueError as err:
        raise BundleError(str(err) if str(path) in str(err) else f"{path}: {err}") from None
