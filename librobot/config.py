"""Experiment configuration: Hydra composition, typed schema, overrides, save and load.

Configs live in ``configs/`` (override with ``LIBROBOT_CONFIG_DIR``). An experiment is a file in
``configs/experiment/`` that picks a robot, model parts and training settings from the config
groups; ``load_config("experiment/default", ["training.max_steps=10",
"model/action_head=diffusion_transformer"])`` composes it with Hydra's compose API.

Every section is typed: the fixed sections by the dataclasses below, each model component by the
``config_class`` of the component it names. A mistyped or unknown key fails with its path.

After validation the config travels as an ``ExperimentConfig`` object (``cfg.training`` is a
``TrainingConfig``, ``cfg.data`` a ``DataConfig``, ...): defaults live in those dataclasses only, the
YAML files state what differs. Each model part (``cfg.model.vlm``, ...) stays a plain dict, checked
against its component's ``config_class`` here and built from it by the registry.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from librobot.choices import CONFIG_CHOICES, OPTIONAL_CHOICES, NormalizationMode
from librobot.data.config import DataConfig
from librobot.evaluation.config import EvalConfig
from librobot.inference.config import ExportConfig
from librobot.registry import RegistryError, component_config
from librobot.training.config import TrainingConfig


@dataclass
class ModelConfig:
    vlm: dict[str, Any] = field(default_factory=lambda: {"name": "small_pretrained"})
    encoder: dict[str, Any] = field(default_factory=lambda: {"name": "mlp"})
    action_head: dict[str, Any] = field(default_factory=lambda: {"name": "flow_matching"})
    framework: dict[str, Any] = field(default_factory=lambda: {"name": "groot_style"})


@dataclass
class ExperimentConfig:
    name: str = "default"
    seed: int = 0
    deterministic: bool = False
    robot: Any = "metaworld_sawyer"  # a registered name, or an inline spec (see librobot.robots)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)


class ConfigError(ValueError):
    """A config that cannot be composed or fails its schema; the message names the key."""


def config_dir() -> Path:
    """Where the YAML tree lives: $LIBROBOT_CONFIG_DIR, ./configs, or the source checkout's."""
    candidates = [os.environ.get("LIBROBOT_CONFIG_DIR"), "configs", Path(__file__).resolve().parents[1] / "configs"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "config.yaml").is_file():
            return Path(candidate).resolve()
    raise ConfigError(
        "no config directory found: set LIBROBOT_CONFIG_DIR or run from a LibroBot checkout "
        "(looked for configs/config.yaml)"
    )


def load_config(
    name: str | Path = "experiment/default",
    overrides: Sequence[str] = (),
    directory: str | Path | None = None,
) -> ExperimentConfig:
    """Compose ``name`` (``experiment/<x>``, or a saved ``config.yaml`` path) with ``overrides``.

    Overrides use Hydra's grammar: ``training.max_steps=10`` sets a value,
    ``model/action_head=diffusion_transformer`` swaps a config group.
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        cfg = OmegaConf.load(path)
        dotlist = [o for o in overrides if "/" not in o.split("=", 1)[0]]
        if len(dotlist) != len(overrides):
            raise ConfigError("group overrides (a/b=c) need a composed experiment, not a saved config file")
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([o.lstrip("+") for o in dotlist]))
        return validate(cfg)
    return validate(_compose(str(name), list(overrides), directory))


def _compose(name: str, overrides: list[str], directory: str | Path | None) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    root = Path(directory).resolve() if directory else config_dir()
    group, _, experiment = name.rpartition("/")
    if group != "experiment" or not experiment:
        raise ConfigError(f"config name must look like 'experiment/<name>' or be a .yaml file, got {name!r}")
    if not (root / "experiment" / f"{experiment}.yaml").is_file():
        known = sorted(p.stem for p in (root / "experiment").glob("*.yaml"))
        raise ConfigError(f"unknown experiment {experiment!r} in {root / 'experiment'}; known: {', '.join(known)}")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(root), version_base=None):
            overrides = [_set_or_add(o) for o in overrides]
            return compose(config_name="config", overrides=[f"+experiment={experiment}", *overrides])
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"cannot compose {name} with overrides {overrides}: {err}") from None
    finally:
        GlobalHydra.instance().clear()


def _set_or_add(override: str) -> str:
    """``a.b=v`` as ``++a.b=v``: the group YAMLs list only what differs from the dataclass defaults, so
    Hydra may not know ``a.b`` yet; ``validate`` then refuses a key the schema does not have (a typo)."""
    key = override.split("=", 1)[0]
    if "=" not in override or "." not in key or "/" in key or key.startswith(("+", "~")):
        return override  # group choices (model/vlm=x, robot=x), deletions and explicit additions as given
    return "++" + override


def validate(cfg: Any) -> ExperimentConfig:
    """Check ``cfg`` (a mapping, a DictConfig or an ``ExperimentConfig``) against the schema and each model
    component's config class; returns the typed ``ExperimentConfig`` with every default filled in, so a
    saved config.yaml records everything that built the model.
    """
    return cast(ExperimentConfig, OmegaConf.to_object(_checked(cfg)))


def _checked(cfg: Any) -> DictConfig:
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(_describe(err)) from None
    if not isinstance(merged, DictConfig):
        raise ConfigError(f"an experiment config is a mapping of sections, got {type(cfg).__name__}")
    for part in ("vlm", "encoder", "action_head", "framework"):  # each a registry category of its own name
        node = merged.model[part]
        try:
            checked = component_config(part, node, path=f"model.{part}")
        except (RegistryError, ValueError) as err:
            raise ConfigError(str(err)) from None
        filled = OmegaConf.create(_as_container(checked))
        filled["name"] = node.name
        merged.model[part] = OmegaConf.merge(filled, {"name": node.name})
    check_choices(merged)
    return merged


def check_choices(cfg: DictConfig) -> None:
    """Every closed choice (``librobot.choices.CONFIG_CHOICES``, normalization modes) holds an allowed value."""
    for key, choice in CONFIG_CHOICES.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT or (value is None and key in OPTIONAL_CHOICES):
            continue  # a key only some components have (beta_schedule), or an optional one left empty
        try:
            choice.parse(value, f"config key {key!r}")
        except ValueError as err:
            raise ConfigError(str(err)) from None
    for feature, mode in (cfg.data.get("normalization") or {}).items():
        try:
            NormalizationMode.parse(str(mode).upper(), f"config key 'data.normalization.{feature}'")
        except ValueError as err:
            raise ConfigError(str(err)) from None


_ABSENT = object()


def _as_container(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def _describe(err: Exception) -> str:
    key = getattr(err, "full_key", None)
    msg = str(err).strip().splitlines()[0]
    return f"config key {key!r}: {msg}" if key else msg


def to_yaml(cfg: ExperimentConfig) -> str:
    """The config as the YAML a bundle's config.yaml holds (every value resolved)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg), resolve=True)


def save_config(cfg: ExperimentConfig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(cfg))
    return path
