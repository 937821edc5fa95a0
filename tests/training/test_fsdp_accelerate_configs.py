"""Contract: configs/accelerate/*.yaml load in accelerate, and `librobot train --accelerate-config NAME`
starts that launch."""

from __future__ import annotations

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.commands.launch import launch_command_parser

from librobot.config import config_dir
from librobot.training.distributed import accelerate_config_path, accelerate_train_command

NAMES = ("ddp", "fsdp", "deepspeed_zero2", "deepspeed_zero3")


@pytest.mark.parametrize("name", NAMES)
def test_accelerate_config_loads_and_every_key_is_a_launch_option(name):
    path = accelerate_config_path(name)
    assert path == config_dir() / "accelerate" / f"{name}.yaml"
    config = load_config_from_file(str(path))  # refuses unknown top-level keys
    options = {a.dest for a in launch_command_parser()._actions}
    nested = {**(config.fsdp_config or {}), **(config.deepspeed_config or {})}
    assert set(nested) <= options, f"{name}: not accelerate launch options: {sorted(set(nested) - options)}"
    assert config.mixed_precision == "no"  # precision comes from training.mixed_precision


def test_fsdp_config_fully_shards_with_activation_checkpointing_and_full_state_dicts():
    fsdp = load_config_from_file(str(accelerate_config_path("fsdp"))).fsdp_config
    assert fsdp["fsdp_version"] == 2 and fsdp["fsdp_reshard_after_forward"] is True
    assert fsdp["fsdp_activation_checkpointing"] is True and fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_accelerate_config_flag_becomes_an_accelerate_launch_of_the_same_command():
    path = accelerate_config_path("fsdp")
    command = accelerate_train_command(
        "experiment/default", "out", 4, ["--config_file", str(path)], ["--resume", "a=1"]
    )
    assert command == [
        "accelerate", "launch", "--config_file", str(path), "--num_processes", "4", "-m", "librobot.cli",
        "train", "--config", "experiment/default", "--output", "out", "--resume", "a=1",
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"--accelerate-config 'fdsp'.*'fsdp'"):
        accelerate_config_path("fdsp")
