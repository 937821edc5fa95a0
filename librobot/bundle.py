"""The policy bundle: the one directory every consumer (eval, export, infer, package, serve) loads.

```
<bundle>/config.yaml  model.safetensors  normalization.json  metadata.json  onnx/
```
``normalization.json`` carries the robot spec and the normalizer's modes and stats, so the code
that runs a policy checks and normalizes observations exactly as training did. Every read of it
goes through ``read_json``, which refuses a file that would make the policy act wrongly (NaN stats,
bounds that disagree with the robot): see ``check_normalization``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from librobot.checkpoint import atomic_dir, load_weights, save_weights, write_text_atomic
from librobot.config import ConfigError, ExperimentConfig, to_yaml, validate
from librobot.logging import get_logger
from librobot.models import build_model
from librobot.models.action_tokenizers import attach_action_tokenizer, model_action_tokenizer, save_action_tokenizer
from librobot.models.action_tokenizers.bundle_file import ACTION_TOKENIZER_FILE
from librobot.policy_spec import BundleError, BundleMetadata, PolicySpec
from librobot.robots import RobotSpec, load_robot
from librobot.robots.from_dataset import names_dataset_robot

log = get_logger("bundle")

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"
NORMALIZATION_FILE = "normalization.json"
METADATA_FILE = "metadata.json"
ONNX_DIR = "onnx"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, NORMALIZATION_FILE, METADATA_FILE)
OPTIONAL_FILES = (ACTION_TOKENIZER_FILE,)  # heads that read action tokens (librobot.models.action_tokenizers)


@dataclass
class Bundle:
    path: Path
    cfg: ExperimentConfig
    model: Any  # the framework nn.Module, in eval mode
    normalization: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def spec(self) -> PolicySpec:
        return PolicySpec.from_dict(self.normalization, self.path / NORMALIZATION_FILE)

    @property
    def robot(self) -> RobotSpec:
        return self.spec.robot

    @property
    def normalizer(self):
        return self.spec.normalizer

    @property
    def cameras(self) -> list[str]:
        return list(self.spec.cameras)

    @property
    def action_horizon(self) -> int:
        return self.spec.action_horizon

    @property
    def obs_horizon(self) -> int:
        return self.spec.obs_horizon

    @property
    def onnx_dir(self) -> Path:
        return self.path / ONNX_DIR


def save_bundle(
    directory: str | Path,
    cfg: ExperimentConfig,
    model: Any,
    normalization: dict[str, Any],
    metadata: dict[str, Any],
    keep: Sequence[str] = (),
    action_tokenizer: Any = None,
) -> Path:
    """Write a complete bundle atomically (an existing ``onnx/`` export is dropped: it is stale).

    ``model`` is the framework module or its state dict. ``keep`` names entries of an existing
    ``directory`` carried into the new bundle unchanged (the trainer's ``train/`` state).
    ``action_tokenizer`` (heads that read action tokens; taken from ``model`` when it is the module)
    is written as ``action_tokenizer.json``.
    """
    if action_tokenizer is None:
        action_tokenizer = model_action_tokenizer(model)
    directory = Path(directory)
    metadata = {"created": _dt.datetime.now(_dt.UTC).isoformat(), "code_commit": code_commit(), **metadata}
    PolicySpec.from_dict(normalization, "the normalization to save")  # a bundle is never written half-typed
    BundleMetadata.from_dict(json.loads(json.dumps(metadata, default=str)), "the metadata to save")
    with atomic_dir(directory, keep=keep) as tmp:  # keep entries are moved in once the new bundle is complete
        (tmp / CONFIG_FILE).write_text(to_yaml(cfg))
        save_weights(model, tmp / WEIGHTS_FILE)
        (tmp / NORMALIZATION_FILE).write_text(json.dumps(normalization, indent=2))
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
        if action_tokenizer is not None:
            save_action_tokenizer(action_tokenizer, tmp)
    return directory


def file_digest(*paths: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of the files' bytes, in order."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def bundle_digest(directory: str | Path) -> str:
    """What decides the bundle's actions: its config, weights, normalization (and action tokenizer)."""
    directory = Path(directory)
    names = (CONFIG_FILE, WEIGHTS_FILE, NORMALIZATION_FILE, *OPTIONAL_FILES)
    return file_digest(*(directory / n for n in names if (directory / n).is_file()))


def read_json(directory: str | Path, name: str) -> dict[str, Any]:
    """A bundle's JSON file; normalization.json is checked (``check_normalization``) on every read."""
    path = Path(directory) / name
    if not path.is_file():
        raise BundleError(f"{path} is missing: not a complete policy bundle (needs {', '.join(REQUIRED_FILES)})")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise BundleError(f"{path} is not valid JSON: {err}") from None
    if name == NORMALIZATION_FILE:
        config = Path(directory) / CONFIG_FILE
        check_normalization(data, path, load_config_file(config) if config.is_file() else None)
    elif name == METADATA_FILE:
        BundleMetadata.from_dict(data, path)
    return data


# normalizer feature -> the robot's vector it normalizes
_NORMALIZED_VECTORS = {"observation.state": "state", "action": "action"}


def check_normalization(normalization: Any, path: str | Path, cfg: ExperimentConfig | None = None) -> None:
    """Refuse a normalization.json that would make a policy act wrongly rather than fail.

    Checked: the robot spec parses, its bounds are numbers with low <= high and finite for actions (they
    clip every action); every normalizer stat is finite, spreads are >= 0, min <= max (Normalizer);
    the normalizer's features carry the robot's state and action names, in order; and when config.yaml
    names a robot this code knows, the spec in the file has exactly that robot's names and bounds (bounds
    widened in the file would silently disable clipping).
    """
    spec = PolicySpec.from_dict(normalization, path)  # keys, types, robot and normalizer parse
    robot, normalizer = spec.robot, spec.normalizer
    low, high = robot.bounds("action")
    unbounded = np.nonzero(~(np.isfinite(low) & np.isfinite(high)))[0]
    if len(unbounded):
        i = int(unbounded[0])
        raise BundleError(
            f"{path}: robot.action[{i}] ({robot.action_names[i]}) bounds are [{low[i]}, {high[i]}]; expected finite "
            "bounds (they clip every action the policy sends)"
        )
    for feature, kind in _NORMALIZED_VECTORS.items():
        if feature not in normalizer.features:
            continue
        expected = robot.state_names if kind == "state" else robot.action_names
        got = normalizer.names(feature)
        if got != expected:
            raise BundleError(
                f"{path}: normalizer.{feature}.names has {len(got)} names {got}; expected the {len(expected)} "
                f"{kind} names of robot {robot.name!r} in order: {expected}"
            )
    declared = _declared_robot(cfg)
    if declared is not None:
        _check_same_robot(robot, declared, path)


def _declared_robot(cfg: ExperimentConfig | None) -> RobotSpec | None:
    """The robot config.yaml names, when it is a robot this code defines (not one derived from a dataset)."""
    robot_cfg = cfg.robot if cfg is not None else None
    if robot_cfg is None:
        return None

    if names_dataset_robot(robot_cfg):  # robot=dataset: the spec comes from the dataset's own stats
        return None
    try:
        return load_robot(robot_cfg)
    except (KeyError, ValueError, OSError):  # a robot unknown here (a plugin's): nothing to compare with
        return None


def _check_same_robot(robot: RobotSpec, declared: RobotSpec, path: str | Path) -> None:
    for kind in ("state", "action"):
        got, expected = robot._features(kind), declared._features(kind)
        if [f.name for f in got] != [f.name for f in expected]:
            raise BundleError(
                f"{path}: robot.{kind} names {[f.name for f in got]}; robot {declared.name!r} declares "
                f"{[f.name for f in expected]}"
            )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            if (g.low, g.high) != (e.low, e.high):
                raise BundleError(
                    f"{path}: robot.{kind}[{i}] ({g.name}) bounds are [{g.low}, {g.high}]; robot {declared.name!r} "
                    f"declares [{e.low}, {e.high}]"
                )


def update_metadata(directory: str | Path, **entries: Any) -> dict[str, Any]:
    """Merge ``entries`` (``BundleMetadata`` fields: eval metrics, export reports, ...) into metadata.json."""
    unknown = sorted(set(entries) - set(BundleMetadata.fields()))
    if unknown:
        raise BundleError(f"metadata.json has no field {unknown}; fields: {list(BundleMetadata.fields())}")
    metadata = read_json(directory, METADATA_FILE)
    metadata.update(entries)
    write_text_atomic(Path(directory) / METADATA_FILE, json.dumps(metadata, indent=2, default=str))
    return metadata


def load_bundle(directory: str | Path, device: str = "cpu", with_model: bool = True) -> Bundle:
    """Load a bundle; the model is rebuilt from config.yaml and gets the safetensors weights."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(f"policy bundle {directory} does not exist")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise BundleError(f"policy bundle {directory} is missing {', '.join(missing)}")
    cfg = load_config_file(directory / CONFIG_FILE)
    normalization = read_json(directory, NORMALIZATION_FILE)  # checked: see check_normalization
    metadata = read_json(directory, METADATA_FILE)
    model = None
    if with_model:
        model = build_model_for(cfg, normalization)
        attach_action_tokenizer(model, directory)  # heads that decode action tokens: action_tokenizer.json
        state = load_weights(directory / WEIGHTS_FILE, device=device)
        result = model.load_state_dict(state, strict=False)
        unexpected = list(result.unexpected_keys)
        # frozen pretrained parts may be left out of the file; anything else missing is an error
        missing_keys = [k for k in result.missing_keys if not _is_frozen_pretrained(model, k)]
        if unexpected or missing_keys:
            raise BundleError(
                f"{directory / WEIGHTS_FILE} does not match the model in config.yaml: "
                f"missing {missing_keys[:5]}, unexpected {unexpected[:5]}"
            )
        model.to(device).eval()
    return Bundle(path=directory, cfg=cfg, model=model, normalization=normalization, metadata=metadata)


def build_model_for(cfg: ExperimentConfig, normalization: dict[str, Any]):
    spec = PolicySpec.from_dict(normalization)
    return build_model(
        cfg.model,
        state_dim=spec.robot.state_dim,
        action_dim=spec.robot.action_dim,
        action_horizon=spec.action_horizon,
        obs_horizon=spec.obs_horizon,
        num_cameras=len(spec.cameras),
    )


def _is_frozen_pretrained(model: Any, key: str) -> bool:
    names = getattr(model, "pretrained_state_keys", None)
    return callable(names) and key in names()


def load_config_file(path: Path) -> ExperimentConfig:
    """A bundle's config.yaml, validated; a BundleError names the file and the key.

    Keys an older LibroBot wrote and this one no longer has are dropped with a warning (they configure
    nothing here), so old bundles keep loading.
    """
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise BundleError(f"{path}: expected a mapping of config sections, got a list")
    for _ in range(_MAX_DROPPED_KEYS):
        try:
            return validate(cfg)
        except ConfigError as err:
            key = _unknown_key(cfg, str(err))
            if key is None:
                raise BundleError(f"{path}: {err}") from None
            log.warning("%s: %r is not a config key of this LibroBot version; ignored", path, key)
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            node.pop(leaf)
    raise BundleError(f"{path}: more than {_MAX_DROPPED_KEYS} unknown config keys: not a LibroBot config")


_MAX_DROPPED_KEYS = 50
# "config key 'training.foo': Key 'foo' not in ..." or "model.action_head.foo (action_head 'x'): Key 'foo' not in ..."
_UNKNOWN_KEY = re.compile(r"^(?:config key ')?([\w.]+)'?(?: \([^)]*\))?: Key '\w+' not in '\w+'")


def _unknown_key(cfg: DictConfig, message: str) -> str | None:
    """The dotted key a ConfigError reports as absent from the schema (and present in ``cfg``), else None."""
    match = _UNKNOWN_KEY.match(message)
    key = match.group(1) if match else None
    return key if key is not None and OmegaConf.select(cfg, key, default=None) is not None else None


def code_commit() -> str | None:
    """The git commit of the LibroBot checkout (with ``-dirty`` when it has local changes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha
