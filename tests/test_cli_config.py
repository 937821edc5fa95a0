"""Every VLM swaps into every experiment with one override: `librobot config --config experiment/<e> model/vlm=<v>`.

Experiments set no VLM-specific keys (those live in the VLM's own option, configs/model/vlm/*.yaml),
so the swap composes and builds each component's config dataclass. Building the models themselves
is tests/models/test_vlm.py's job (the transformers VLMs from tiny configs).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from librobot.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
VLMS = sorted(p.stem for p in (CONFIGS / "model" / "vlm").glob("*.yaml"))


@pytest.mark.parametrize("vlm", VLMS)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_vlm_swaps_into_every_experiment_with_one_override(experiment, vlm, capsys):
    assert main(["config", "--config", f"experiment/{experiment}", f"model/vlm={vlm}"]) == 0, capsys.readouterr().out
    resolved = yaml.safe_load(capsys.readouterr().out)["model"]["vlm"]
    option = _vlm_option(vlm)
    # the experiment put nothing of another VLM's into this one (e.g. small_pretrained's image_size)
    assert {key: resolved[key] for key in option} == option


def _vlm_option(name: str) -> dict:
    """A configs/model/vlm option as Hydra composes it (its own defaults list first, then itself)."""
    option = yaml.safe_load((CONFIGS / "model" / "vlm" / f"{name}.yaml").read_text())
    merged: dict = {}
    for parent in option.pop("defaults", []):
        if parent != "_self_":
            merged.update(_vlm_option(parent))
    return {**merged, **option}


def test_experiments_keep_their_vlm_settings():
    """The settings the measured figures were trained with (README, docs/wheel_loader.md)."""
    from librobot.config import load_config

    default = load_config("experiment/default").model.vlm
    assert (default["name"], default["hidden_dim"], default["image_size"], default["image_grid"]) == (
        "small_pretrained",
        128,
        96,
        3,
    )
    assert default["image_layer"] == "head"
    wheel_loader = load_config("experiment/wheel_loader_groot").model.vlm
    assert (wheel_loader["name"], wheel_loader["hidden_dim"], wheel_loader["image_size"]) == (
        "small_pretrained",
        128,
        64,
    )
    assert (wheel_loader["image_grid"], wheel_loader["image_layer"]) == (4, "stride16")
    proprio = load_config("experiment/default_proprio").model.vlm  # every cell of the 6x6 stride-16 map
    assert (proprio["image_size"], proprio["image_grid"], proprio["image_layer"]) == (96, 6, "stride16")
    mt10 = load_config("experiment/metaworld_mt10").model.vlm  # default_proprio's cells, as measured on MT10
    assert (mt10["image_size"], mt10["image_grid"], mt10["image_layer"]) == (96, 6, "stride16")
    mt50 = load_config("experiment/metaworld_mt50").model.vlm  # MT10's cells, with room for 84k frames' features
    assert (mt50["image_size"], mt50["image_grid"], mt50["image_layer"]) == (96, 6, "stride16")
    assert mt50["feature_cache_mb"] == 4000
