"""Whole-tensor state under FSDP: checkpoints and bundles stay safetensors + JSON of full tensors.

Under FSDP (``accelerate launch --config_file configs/accelerate/fsdp.yaml``) each process holds a
shard of every parameter and of its optimizer moments. ``torch.distributed.checkpoint.state_dict``
gathers them into full CPU tensors on rank 0 (a collective: every rank calls it) and scatters full
tensors back into shards on resume, so a checkpoint written by 8 sharded GPUs has the same layout
as one written by a single process, minus the optimizer's index keys (FSDP's are parameter names).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def is_sharded(accelerator: Any) -> bool:
    """True when accelerate wrapped the model in FSDP (its parameters are shards)."""
    from accelerate.utils import DistributedType

    return accelerator is not None and accelerator.distributed_type == DistributedType.FSDP


def _options(**kwargs):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, **kwargs)


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every weight as a full CPU tensor on rank 0 (``{}`` on the other ranks); call on every rank."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_options(cpu_offload=True))


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's state keyed by parameter name, full CPU tensors on rank 0; call on every rank."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=_options(cpu_offload=True))


def load_full_model_state(model: nn.Module, state: dict[str, torch.Tensor]) -> Any:
    """Scatter full tensors into ``model``'s shards (non-strict: frozen weights come from pretrained files)."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    return set_model_state_dict(model, state, options=_options(strict=False))


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, state, options=_options())
