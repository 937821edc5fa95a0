import pytest
from omegaconf import OmegaConf

from librobot.config import ConfigError, load_config, save_config


def test_default_experiment_composes_every_group():
    cfg = load_config("experiment/default")
    assert cfg.robot.name == "metaworld_sawyer"
    assert cfg.model.vlm.name == "small_pretrained"
    assert cfg.model.action_head.name == "flow_matching"
    assert cfg.model.framework.name == "groot_style"
    assert cfg.training.max_steps > 0


def test_component_defaults_are_filled_from_its_config_class():
    cfg = load_config("experiment/default", ["model/action_head=mlp_oft"])
    assert cfg.model.action_head.name == "mlp_oft"
    # every field of the head's dataclass is present, so a saved config rebuilds the same model
    assert len(cfg.model.action_head) > 1


def test_dotlist_and_group_overrides_apply():
    cfg = load_config(
        "experiment/default",
        ["training.max_steps=7", "model/action_head=diffusion_transformer", "robot=wheel_loader", "seed=5"],
    )
    assert cfg.training.max_steps == 7
    assert cfg.model.action_head.name == "diffusion_transformer"
    assert cfg.robot.name == "wheel_loader"
    assert cfg.seed == 5


def test_interpolation_resolves(tmp_path):
    cfg = load_config("experiment/default", ["name=run-${seed}", "seed=3"])
    assert OmegaConf.to_container(cfg, resolve=True)["name"] == "run-3"


def test_unknown_key_fails_with_its_path():
    with pytest.raises(ConfigError, match=r"training\.max_stepz"):
        load_config("experiment/default", ["+training.max_stepz=3"])


def test_unknown_component_field_fails_with_its_path():
    with pytest.raises(ConfigError, match=r"model\.action_head\.num_stepz"):
        load_config("experiment/default", ["+model.action_head.num_stepz=3"])


def test_wrong_type_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"max_steps"):
        load_config("experiment/default", ["training.max_steps=many"])


def test_unknown_component_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown action_head 'lstm'.*flow_matching"):
        load_config("experiment/default", ["model.action_head.name=lstm"])


def test_unknown_group_option_and_experiment_fail():
    with pytest.raises(ConfigError, match="model/action_head"):
        load_config("experiment/default", ["model/action_head=nope"])
    with pytest.raises(ConfigError, match="unknown experiment 'nope'"):
        load_config("experiment/nope")


def test_save_load_round_trip(tmp_path):
    cfg = load_config("experiment/default", ["training.max_steps=11", "model/action_head=mlp_oft"])
    path = save_config(cfg, tmp_path / "config.yaml")
    again = load_config(path, ["training.batch_size=4"])
    assert again.training.max_steps == 11
    assert again.training.batch_size == 4
    assert OmegaConf.to_container(again.model) == OmegaConf.to_container(cfg.model)
