from dataclasses import dataclass

import pytest

from librobot.registry import REGISTRY, Registry, RegistryError, build, component_config


@pytest.fixture
def registry():
    return Registry()


def test_lookup_by_name_and_alias(registry):
    @registry.register("action_head", "mlp_oft", aliases=["mlp"])
    class Head:
        pass

    assert registry.get("action_head", "mlp_oft") is Head
    assert registry.get("action_head", "mlp") is Head
    assert registry.canonical_name("action_head", "mlp") == "mlp_oft"
    assert registry.describe("action_head") == ["mlp_oft (aliases: mlp)"]


def test_duplicate_name_or_alias_is_an_error(registry):
    registry.register("encoder", "mlp", aliases=["dense"])(object)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("encoder", "mlp")(object)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("encoder", "other", aliases=["dense"])(object)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("encoder", "dense")(object)


def test_unknown_name_lists_what_is_registered(registry):
    registry.register("vlm", "tiny", aliases=["t"])(object)
    registry.register("vlm", "big")(object)
    with pytest.raises(RegistryError) as err:
        registry.get("vlm", "huge")
    message = str(err.value)
    assert "unknown vlm 'huge'" in message
    assert "big" in message and "tiny (aliases: t)" in message


def test_unknown_category_is_an_error(registry):
    with pytest.raises(RegistryError, match="unknown registry category 'heads'"):
        registry.register("heads", "x")


@dataclass
class _EchoConfig:
    width: int = 8
    act: str = "relu"


class _Echo:
    config_class = _EchoConfig

    def __init__(self, cfg: _EchoConfig, in_dim: int):
        self.cfg, self.in_dim = cfg, in_dim


@pytest.fixture
def echo_registered():
    REGISTRY.register("transform", "test_echo", aliases=["test_echo_alias"])(_Echo)
    yield
    REGISTRY._items["transform"].pop("test_echo")
    REGISTRY._aliases["transform"].pop("test_echo_alias")


def test_build_validates_config_and_passes_runtime_arguments(echo_registered):
    obj = build("transform", {"name": "test_echo_alias", "width": 16}, in_dim=3)
    assert isinstance(obj, _Echo)
    assert obj.cfg == _EchoConfig(width=16, act="relu")
    assert obj.in_dim == 3


def test_build_rejects_unknown_key_with_its_path(echo_registered):
    with pytest.raises(ValueError, match=r"data\.transforms.*widht"):
        component_config("transform", {"name": "test_echo", "widht": 16}, path="data.transforms")


def test_build_rejects_wrong_type(echo_registered):
    with pytest.raises(ValueError, match="width"):
        build("transform", {"name": "test_echo", "width": "wide"}, in_dim=1)


def test_builtin_robots_are_registered():
    assert "wheel_loader" in REGISTRY.names("robot")
    assert REGISTRY.canonical_name("robot", "loader") == "wheel_loader"
