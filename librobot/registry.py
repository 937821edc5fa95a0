"""Named components: every model part, robot, optimizer, transform and environment is built by name.

Usage::

    @register_action_head("mlp_oft", aliases=["mlp"])
    class MLPOFTHead(nn.Module):
        config_class = MLPOFTConfig          # dataclass: the component's typed config
        def __init__(self, cfg: MLPOFTConfig, **runtime): ...

    head = build("action_head", {"name": "mlp", "hidden_dim": 256}, feature_dim=384, action_dim=4)

A component with a ``config_class`` dataclass gets its config node validated against it: an
unknown or mistyped key fails with the key's path instead of being ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

CATEGORIES = (
    "vlm",
    "action_head",
    "action_tokenizer",
    "encoder",
    "framework",
    "robot",
    "optimizer",
    "scheduler",
    "transform",
    "env",
)


class RegistryError(KeyError):
    """A lookup or registration that cannot be satisfied; the message says what is known."""

    def __str__(self) -> str:  # KeyError quotes its message; people should read it plainly
        return str(self.args[0]) if self.args else ""


class Registry:
    """Name -> component, per category, with aliases."""

    def __init__(self, categories: Iterable[str] = CATEGORIES):
        self._items: dict[str, dict[str, Any]] = {c: {} for c in categories}
        self._aliases: dict[str, dict[str, str]] = {c: {} for c in categories}

    def _check_category(self, category: str) -> None:
        if category not in self._items:
            raise RegistryError(f"unknown registry category {category!r}; known categories: {', '.join(self._items)}")

    def register(self, category: str, name: str, aliases: Iterable[str] = ()) -> Callable[[Any], Any]:
        self._check_category(category)

        def decorator(obj: Any) -> Any:
            for key in (name, *aliases):
                if key in self._items[category] or key in self._aliases[category]:
                    owner = self._aliases[category].get(key, key)
                    raise RegistryError(f"{category} {key!r} is already registered (by {owner!r}); pick another name")
            self._items[category][name] = obj
            for alias in aliases:
                self._aliases[category][alias] = name
            return obj

        return decorator

    def canonical_name(self, category: str, name: str) -> str:
        self._check_category(category)
        _import_builtin_components()
        if name in self._items[category]:
            return name
        if name in self._aliases[category]:
            return self._aliases[category][name]
        known = ", ".join(self.describe(category)) or "nothing"
        raise RegistryError(f"unknown {category} {name!r}; registered {category}s: {known}")

    def get(self, category: str, name: str) -> Any:
        return self._items[category][self.canonical_name(category, name)]

    def names(self, category: str) -> list[str]:
        self._check_category(category)
        _import_builtin_components()
        return sorted(self._items[category])

    def aliases_of(self, category: str, name: str) -> list[str]:
        return sorted(a for a, target in self._aliases[category].items() if target == name)

    def describe(self, category: str) -> list[str]:
        """One entry per component: ``name (aliases: a, b)``."""
        self._check_category(category)
        _import_builtin_components()
        out = []
        for name in sorted(self._items[category]):
            aliases = self.aliases_of(category, name)
            out.append(f"{name} (aliases: {', '.join(aliases)})" if aliases else name)
        return out

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._items)


REGISTRY = Registry()


def register(category: str, name: str, aliases: Iterable[str] = ()) -> Callable[[Any], Any]:
    return REGISTRY.register(category, name, aliases)


def _category_decorator(category: str) -> Callable[..., Callable[[Any], Any]]:
    def decorator(name: str, aliases: Iterable[str] = ()) -> Callable[[Any], Any]:
        return REGISTRY.register(category, name, aliases)

    decorator.__name__ = f"register_{category}"
    decorator.__doc__ = f"Register a {category} under ``name`` (and ``aliases``)."
    return decorator


register_vlm = _category_decorator("vlm")
register_action_head = _category_decorator("action_head")
register_action_tokenizer = _category_decorator("action_tokenizer")
register_encoder = _category_decorator("encoder")
register_framework = _category_decorator("framework")
register_robot = _category_decorator("robot")
register_optimizer = _category_decorator("optimizer")
register_scheduler = _category_decorator("scheduler")
register_transform = _category_decorator("transform")
register_env = _category_decorator("env")


def get(category: str, name: str) -> Any:
    return REGISTRY.get(category, name)


def component_config(category: str, cfg: Mapping[str, Any] | DictConfig, path: str = "") -> Any:
    """Validate a component's config node against its ``config_class`` and return the dataclass.

    ``cfg`` holds ``name`` plus the component's fields. Components without a ``config_class``
    get the node as a plain dict.
    """
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    where = path or category
    if "name" not in node:
        raise RegistryError(f"{where}.name is missing: say which {category} to build")
    obj = REGISTRY.get(category, str(node.name))
    params = OmegaConf.masked_copy(node, [str(k) for k in node if k != "name"])
    schema_cls = getattr(obj, "config_class", None)
    if schema_cls is None:
        return OmegaConf.to_container(params, resolve=True)
    if not dataclasses.is_dataclass(schema_cls):
        raise TypeError(f"{obj.__name__}.config_class must be a dataclass")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema_cls), params)
    except Exception as err:  # omegaconf's errors carry the key; prefix where the node sits
        key = getattr(err, "full_key", None) or getattr(err, "key", None)
        at = f"{where}.{key}" if key else where
        raise ValueError(f"{at} ({category} {node.name!r}): {_first_line(err)}") from None
    return OmegaConf.to_object(merged)


def build(category: str, cfg: Mapping[str, Any] | DictConfig, **runtime: Any) -> Any:
    """Instantiate ``cfg.name`` from ``category``.

    The validated config (dataclass or dict) is the first argument; ``runtime`` holds what only
    the caller knows (feature widths from the robot and dataset, for example).
    """
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    params = component_config(category, node)
    obj = REGISTRY.get(category, str(node.name))
    if getattr(obj, "config_class", None) is None:
        return obj(**params, **runtime)
    return obj(params, **runtime)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


_BUILTINS_IMPORTED = False


def _import_builtin_components() -> None:
    """Import the modules (and every module of the packages) that register LibroBot's components, once."""
    global _BUILTINS_IMPORTED
    if _BUILTINS_IMPORTED:
        return
    _BUILTINS_IMPORTED = True
    import importlib
    import pkgutil

    for package_name in (
        "librobot.robots",
        "librobot.models.vlm",
        "librobot.models.encoders",
        "librobot.models.action_heads",
        "librobot.models.action_tokenizers",
        "librobot.models.frameworks",
        "librobot.data",
        "librobot.data.transforms",
        "librobot.training.optim",
        "librobot.sim",
    ):
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError as err:
            if err.name and package_name.startswith(err.name):
                continue  # that part of the library is not present in this install
            raise
        if not hasattr(package, "__path__"):
            continue  # a plain module: importing it registered its components
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package_name}.{info.name}")
