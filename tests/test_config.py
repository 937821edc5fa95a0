import pytest

from librobot.config import ConfigError, load_config, save_config


def test_default_experiment_composes_every_group():
    cfg = load_config("experiment/default")
    assert cfg.robot["name"] == "metaworld_sawyer"
    assert cfg.model.vlm["name"] == "small_pretrained"
    assert cfg.model.action_head["name"] == "flow_matching"
    assert cfg.model.framework["name"] == "groot_style"
    assert cfg.training.max_steps > 0


def test_component_defaults_are_filled_from_its_config_class():
    cfg = load_config("experiment/default", ["model/action_head=mlp_oft"])
    assert cfg.model.action_head["name"] == "mlp_oft"
    # every field of the head's dataclass is present, so a saved config rebuilds the same model
    assert len(cfg.model.action_head) > 1


def test_dotlist_and_group_overrides_apply():
    cfg = load_config(
        "experiment/default",
        ["training.max_steps=7", "model/action_head=diffusion_transformer", "robot=wheel_loader", "seed=5"],
    )
    assert cfg.training.max_steps == 7
    assert cfg.model.action_head["name"] == "diffusion_transformer"
    assert cfg.robot["name"] == "wheel_loader"
    assert cfg.seed == 5


def test_interpolation_resolves(tmp_path):
    cfg = load_config("experiment/default", ["name=run-${seed}", "seed=3"])
    assert cfg.name == "run-3"


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
    assert again.model == cfg.model


def test_config_group_files_state_only_what_differs_from_the_dataclass_defaults():
    """Defaults live in one place (the dataclasses): a YAML restating one would drift from it silently."""
    import dataclasses

    import yaml

    from librobot.config import config_dir
    from librobot.data.config import DataConfig
    from librobot.registry import get
    from librobot.training.config import TrainingConfig

    def defaults(cls):
        return {
            f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        }

    root = config_dir()
    files = [(root / "training" / "default.yaml", TrainingConfig), (root / "data" / "default.yaml", DataConfig)]
    for category in ("vlm", "encoder", "action_head", "framework"):
        for path in sorted((root / "model" / category).glob("*.yaml")):
            name = (yaml.safe_load(path.read_text()) or {}).get("name")
            if name and get(category, name).config_class is not None:
                files.append((path, get(category, name).config_class))
    restated = {}
    for path, cls in files:
        data, known = yaml.safe_load(path.read_text()) or {}, defaults(cls)
        same = [key for key, value in data.items() if key in known and known[key] == value]
        if same:
            restated[str(path.relative_to(root))] = same
    assert not restated, f"these YAML keys repeat their dataclass defaults; delete them: {restated}"


def test_overrides_reach_keys_the_yaml_leaves_to_the_defaults_and_typos_still_fail():
    from librobot.config import ConfigError, load_config

    cfg = load_config("experiment/default", ["training.keep_checkpoints=5", "model.action_head.dropout=0.1"])
    assert cfg.training.keep_checkpoints == 5 and cfg.model.action_head["dropout"] == 0.1
    with pytest.raises(ConfigError, match="'training.keep_checkpoint'"):
        load_config("experiment/default", ["training.keep_checkpoint=5"])
