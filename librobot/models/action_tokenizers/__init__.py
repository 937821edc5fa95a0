"""Action tokenizers: normalized action chunks <-> discrete token ids (registry category ``action_tokenizer``).

- ``bins`` (``uniform_bins.py``): RT-2 / OpenVLA uniform binning, one token per value.
- ``fast`` (``fast.py``): FAST, DCT + BPE, fitted on the training chunks.

Not to be confused with ``librobot.inference.tokenizer`` (the instruction text tokenizer). A head that
reads action tokens (``model/action_head=fast``) names its tokenizer in its config; training fits it
(``fitting.py``) and the bundle carries it as ``action_tokenizer.json`` (``bundle_file.py``).
"""

from librobot.models.action_tokenizers.base import (
    ActionTokenizer,
    DecodeTables,
    build_action_tokenizer,
    tokenizer_from_dict,
)
from librobot.models.action_tokenizers.bundle_file import (
    ACTION_TOKENIZER_FILE,
    attach_action_tokenizer,
    load_action_tokenizer,
    model_action_tokenizer,
    save_action_tokenizer,
    tokenizer_head,
)

__all__ = [
    "ACTION_TOKENIZER_FILE",
    "ActionTokenizer",
    "DecodeTables",
    "attach_action_tokenizer",
    "build_action_tokenizer",
    "load_action_tokenizer",
    "model_action_tokenizer",
    "save_action_tokenizer",
    "tokenizer_from_dict",
    "tokenizer_head",
]
