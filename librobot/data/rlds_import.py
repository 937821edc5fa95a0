"""Import an RLDS / TFDS dataset directory (Open X-Embodiment, DROID, BridgeData) into LeRobot v3.

An RLDS directory as tensorflow-datasets writes it::

    <name>/<version>/features.json            the nested feature spec (steps: observation, action, ...)
    <name>/<version>/dataset_info.json        name, version, splits and shard lengths
    <name>/<version>/<name>-<split>.tfrecord-00000-of-0000N   one tf.train.Example per episode

Each Example flattens the episode's ``steps`` into one list per leaf feature
(``steps/observation/image``: one PNG/JPEG per step; ``steps/action``: T*D floats; ...). They are read
with the light ``tfrecord`` package (TFRecord framing + the Example protobuf), not TensorFlow, one
episode at a time, so memory stays constant whatever the dataset's size. Which leaves become the
cameras, the state and the action is chosen by name, with Open X-Embodiment's names as defaults.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec
from librobot.logging import get_logger

log = get_logger("data.rlds")

STEPS = "steps/"
INSTRUCTION_KEYS = ("language_instruction", "observation/natural_language_instruction")


class RldsImportError(ValueError):
    """An RLDS dataset this importer cannot read; the message names the file, episode and feature."""


@dataclass(frozen=True)
class Leaf:
    """One per-step feature of ``steps``: ``kind`` is image, tensor or text."""

    key: str  # path under steps/, e.g. "observation/image"
    kind: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class RldsSelection:
    cameras: tuple[str, ...]
    state: tuple[str, ...]
    action: str
    instruction: str | None


def rlds_root(src: str | os.PathLike) -> Path:
    """The folder holding features.json: ``src`` itself or its one ``<version>`` subfolder."""
    src = Path(src)
    if (src / "features.json").is_file():
        return src
    found = sorted(p.parent for p in src.glob("*/features.json"))
    if len(found) == 1:
        return found[0]
    raise FileNotFoundError(
        f"{src}: no features.json here or in one version folder below (found {len(found)}); "
        "pass the RLDS dataset's version directory, e.g. .../bridge/1.0.0"
    )


def step_leaves(root: Path) -> dict[str, Leaf]:
    """The leaves of ``steps`` in features.json, keyed by their path (``observation/image``)."""
    spec = json.loads((root / "features.json").read_text())
    features = spec.get("featuresDict", {}).get("features", {})
    steps = features.get("steps")
    if steps is None or "sequence" not in steps:
        raise RldsImportError(f"{root / 'features.json'}: no 'steps' sequence feature; this is not an RLDS dataset")
    leaves: dict[str, Leaf] = {}
    _collect(steps["sequence"]["feature"], "", leaves, root)
    return leaves


def _collect(node: Mapping[str, Any], prefix: str, out: dict[str, Leaf], root: Path) -> None:
    if "featuresDict" in node:
        for name, child in node["featuresDict"]["features"].items():
            _collect(child, f"{prefix}{name}/", out, root)
        return
    key = prefix.rstrip("/")
    if "image" in node:
        image = node["image"]
        shape = tuple(int(d) for d in image["shape"]["dimensions"])
        out[key] = Leaf(key, "image", shape, image.get("dtype", "uint8"))
    elif "tensor" in node:
        tensor = node["tensor"]
        shape = tuple(int(d) for d in tensor.get("shape", {}).get("dimensions", []))
        if tensor.get("encoding", "none") != "none":
            raise RldsImportError(
                f"{root}: steps/{key} uses tensor encoding {tensor['encoding']!r}; only 'none' is read"
            )
        out[key] = Leaf(key, "tensor", shape, tensor["dtype"])
    elif "text" in node:
        out[key] = Leaf(key, "text", (), "string")
    else:
        log.warning("steps/%s: feature type %s is not imported", key, node.get("pythonClassName", "?"))


def default_selection(
    leaves: Mapping[str, Leaf],
    cameras: Sequence[str] | None = None,
    state: Sequence[str] | None = None,
    action: str = "action",
    instruction: str | None = None,
) -> RldsSelection:
    """Open X-Embodiment defaults: every observation image a camera, observation vectors the state."""
    images = [k for k, v in leaves.items() if v.kind == "image" and k.startswith("observation/")]
    vectors = [
        k
        for k, v in leaves.items()
        if v.kind == "tensor" and k.startswith("observation/") and v.dtype.startswith("float") and len(v.shape) <= 1
    ]
    chosen = RldsSelection(
        cameras=tuple(_full_key(c, leaves) for c in cameras) if cameras else tuple(images),
        state=tuple(_full_key(s, leaves) for s in state) if state else tuple(vectors),
        action=_full_key(action, leaves),
        instruction=_full_key(instruction, leaves)
        if instruction
        else next((k for k in INSTRUCTION_KEYS if k in leaves), None),
    )
    for key, kind in [*((c, "image") for c in chosen.cameras), *((s, "tensor") for s in chosen.state)]:
        if leaves[key].kind != kind:
            raise RldsImportError(f"steps/{key} is a {leaves[key].kind} feature; expected {kind}")
    if not chosen.state:
        raise RldsImportError(
            f"no float vector under steps/observation to form the state; pass --state KEY (leaves: {sorted(leaves)})"
        )
    if leaves[chosen.action].kind != "tensor":
        raise RldsImportError(
            f"steps/{chosen.action} is a {leaves[chosen.action].kind} feature; the action is a tensor"
        )
    return chosen


def _full_key(key: str, leaves: Mapping[str, Leaf]) -> str:
    key = key.removeprefix(STEPS)
    for candidate in (key, f"observation/{key}"):
        if candidate in leaves:
            return candidate
    raise RldsImportError(f"steps/{key} is not a feature of this dataset; it has {sorted(leaves)}")


def shard_files(root: Path, split: str) -> list[Path]:
    files = sorted(root.glob(f"*-{split}.tfrecord-*"))
    if not files:
        splits = sorted({p.name.split(".tfrecord")[0].rsplit("-", 1)[-1] for p in root.glob("*.tfrecord-*")})
        raise FileNotFoundError(f"{root}: no TFRecord shards of split {split!r}; splits present: {splits}")
    return files


def episodes(files: Sequence[Path], leaves: Mapping[str, Leaf], keys: Sequence[str]) -> Iterator[tuple[str, dict]]:
    """(label, {leaf key: per-step values}) per Example, streaming, in file order."""
    from tfrecord import example_pb2
    from tfrecord.reader import tfrecord_iterator

    for path in files:
        for number, record in enumerate(tfrecord_iterator(str(path))):
            label = f"{path.name}, episode {number}"
            example = example_pb2.Example()
            example.ParseFromString(bytes(record))
            feature = example.features.feature
            values = {}
            for key in keys:
                name = STEPS + key
                if name not in feature:
                    raise RldsImportError(f"{label}: has no {name}")
                values[key] = _values(feature[name], leaves[key], label)
            yield label, values


def _values(feature: Any, leaf: Leaf, label: str) -> Any:
    kind = feature.WhichOneof("kind")
    raw = list(getattr(feature, kind).value) if kind else []
    if leaf.kind == "text":
        return [v.decode("utf-8") for v in raw]
    if leaf.kind == "image":
        return np.stack([_decode_image(v, leaf, label) for v in raw]) if raw else np.zeros((0, *leaf.shape), np.uint8)
    arr = np.asarray(raw, dtype=np.dtype(leaf.dtype))
    per_step = int(np.prod(leaf.shape)) if leaf.shape else 1
    if arr.size % per_step:
        raise RldsImportError(f"{label}: steps/{leaf.key} has {arr.size} values, not a multiple of {leaf.shape}")
    return arr.reshape(-1, *leaf.shape)


def _decode_image(data: bytes, leaf: Leaf, label: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            frame = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except OSError as err:
        raise RldsImportError(f"{label}: steps/{leaf.key} holds an image that does not decode ({err})") from None
    if frame.shape != tuple(leaf.shape):
        raise RldsImportError(f"{label}: steps/{leaf.key} image is {frame.shape}; features.json says {leaf.shape}")
    return frame


def import_rlds(
    src: str | os.PathLike,
    out: str | os.PathLike,
    fps: float = 10.0,
    split: str = "train",
    cameras: Sequence[str] | None = None,
    state: Sequence[str] | None = None,
    action: str = "action",
    instruction: str | None = None,
    task: str | None = None,
    robot_type: str | None = None,
    max_episodes: int | None = None,
    overwrite: bool = False,
    **writer_kwargs: Any,
) -> Path:
    """Convert the RLDS dataset at ``src`` into a LeRobot v3 dataset at ``out``; returns its path."""
    root = rlds_root(src)
    leaves = step_leaves(root)
    chosen = default_selection(leaves, cameras, state, action, instruction)
    info = json.loads((root / "dataset_info.json").read_text()) if (root / "dataset_info.json").is_file() else {}
    state_names = [
        f"{key.rsplit('/', 1)[-1]}_{i}" for key in chosen.state for i in range(int(np.prod(leaves[key].shape) or 1))
    ]
    action_dim = int(np.prod(leaves[chosen.action].shape) or 1)
    names = {c: c.rsplit("/", 1)[-1] for c in chosen.cameras}
    keys = [*chosen.cameras, *chosen.state, chosen.action, *([chosen.instruction] if chosen.instruction else [])]
    keys += [k for k in ("is_first", "is_last") if k in leaves]
    writer = LeRobotV3Writer(
        out,
        fps,
        {
            "observation.state": feature_spec(state_names),
            "action": feature_spec([f"action_{i}" for i in range(action_dim)]),
        },
        cameras={names[c]: tuple(leaves[c].shape[:2]) for c in chosen.cameras},
        robot_type=robot_type or info.get("name"),
        librobot={
            "source": {
                "format": "rlds",
                "dataset": info.get("name"),
                "version": info.get("version"),
                "split": split,
                "cameras": list(chosen.cameras),
                "state": list(chosen.state),
                "action": chosen.action,
                "instruction": chosen.instruction,
            }
        },
        overwrite=overwrite,
        **writer_kwargs,
    )
    try:
        for count, (label, ep) in enumerate(episodes(shard_files(root, split), leaves, keys)):
            if max_episodes is not None and count >= max_episodes:
                break
            length = len(ep[chosen.action])
            if length == 0:
                log.warning("%s: no steps; skipped", label)
                continue
            _check_episode(label, ep, length, chosen)
            text = (ep[chosen.instruction][0] if chosen.instruction else "") or task
            if not text:
                raise RldsImportError(f"{label}: no instruction (steps/{chosen.instruction}); pass --task")
            vectors = {
                "observation.state": np.concatenate([ep[k].reshape(length, -1) for k in chosen.state], 1),
                "action": ep[chosen.action].reshape(length, -1),
            }
            writer.add_episode(text, vectors, {names[c]: ep[c] for c in chosen.cameras})
        if not writer.episodes:
            raise RldsImportError(f"{root}: no episodes in split {split!r}")
        return writer.finalize()
    except BaseException:
        writer._close_files()
        raise


def _check_episode(label: str, ep: Mapping[str, Any], length: int, chosen: RldsSelection) -> None:
    for key in [*chosen.cameras, *chosen.state]:
        if len(ep[key]) != length:
            raise RldsImportError(f"{label}: steps/{key} has {len(ep[key])} steps; steps/{chosen.action} has {length}")
    for key in [*chosen.state, chosen.action]:
        bad = ~np.isfinite(ep[key].reshape(length, -1)).all(1)
        if bad.any():
            raise RldsImportError(f"{label}: steps/{key} has NaN or inf at steps {np.nonzero(bad)[0][:5].tolist()}")
    if "is_first" in ep and len(ep["is_first"]) and not ep["is_first"][0]:
        raise RldsImportError(f"{label}: steps/is_first is false at the first step; the record is not one episode")
    if "is_last" in ep and len(ep["is_last"]) and not ep["is_last"][-1]:
        log.warning("%s: steps/is_last is false at the last step (a truncated episode?)", label)
