"""Import HDF5 demonstrations into a LeRobot v3 dataset.

Two layouts are recognized:
- ALOHA (one episode per file): ``/action`` [T, Da], ``/observations/qpos`` [T, Ds],
  ``/observations/images/<cam>`` uint8 [T, H, W, 3].
- robomimic (many demos per file): ``/data/demo_N/actions`` [T, Da], ``/data/demo_N/obs/<key>``;
  low-dimensional obs keys (sorted) are concatenated into the state, uint8 [T, H, W, 3] keys are cameras.
Every problem (missing file or dataset, wrong shape, NaN/inf, length mismatch) raises with the file,
episode and field.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from librobot.data.lerobot_v3 import LeRobotV3Writer, feature_spec


class HDF5ImportError(ValueError):
    pass


def _episodes(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(episode label, {"state", "action", "images", "state_names", "task"}) for each demo in a file."""
    import h5py

    with h5py.File(path, "r") as f:
        if "data" in f and any(k.startswith("demo") for k in f["data"]):
            demos = sorted(f["data"], key=lambda k: int(k.split("_")[-1]) if k.split("_")[-1].isdigit() else k)
            task = f["data"].attrs.get("task") or f["data"].attrs.get("language_instruction")
            for demo in demos:
                g = f["data"][demo]
                label = f"{path}:{demo}"
                if "actions" not in g or "obs" not in g:
                    raise HDF5ImportError(f"{label}: needs 'actions' and 'obs' (robomimic layout)")
                state_parts, names, images = [], [], {}
                for key in sorted(g["obs"]):
                    arr = g["obs"][key][()]
                    if arr.ndim == 4:
                        images[key.removesuffix("_image")] = arr
                    else:
                        arr = arr.reshape(len(arr), -1)
                        state_parts.append(arr)
                        names += [f"{key}.{i}" for i in range(arr.shape[1])] if arr.shape[1] > 1 else [key]
                if not state_parts:
                    raise HDF5ImportError(f"{label}: obs has no low-dimensional keys to form the state")
                yield (
                    label,
                    {
                        "state": np.concatenate(state_parts, 1),
                        "action": g["actions"][()],
                        "images": images,
                        "state_names": names,
                        "task": _text(g.attrs.get("task") or task),
                    },
                )
        elif "action" in f and "observations" in f:
            obs = f["observations"]
            label = str(path)
            if "qpos" not in obs:
                raise HDF5ImportError(f"{label}: observations/qpos missing (ALOHA layout)")
            images = {k: obs["images"][k][()] for k in obs["images"]} if "images" in obs else {}
            qpos = obs["qpos"][()]
            yield (
                label,
                {
                    "state": qpos,
                    "action": f["action"][()],
                    "images": images,
                    "state_names": None,
                    "task": _text(f.attrs.get("task") or f.attrs.get("language_instruction")),
                },
            )
        else:
            raise HDF5ImportError(f"{path}: neither ALOHA (/action, /observations) nor robomimic (/data/demo_N) layout")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _check(label: str, ep: dict[str, Any]) -> int:
    state, action = np.asarray(ep["state"]), np.asarray(ep["action"])
    if state.ndim != 2 or action.ndim != 2:
        raise HDF5ImportError(
            f"{label}: state and action must be [T, D]; got state {state.shape}, action {action.shape}"
        )
    if len(state) != len(action) or len(state) == 0:
        raise HDF5ImportError(f"{label}: state has {len(state)} frames, action {len(action)}; they must match (> 0)")
    for field, arr in (("state", state), ("action", action)):
        bad = ~np.isfinite(arr.astype(np.float64))
        if bad.any():
            frames = np.nonzero(bad.any(1))[0]
            raise HDF5ImportError(f"{label}: {field} has NaN or inf at frames {frames[:5].tolist()}")
    for cam, frames in ep["images"].items():
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) != len(state):
            raise HDF5ImportError(
                f"{label}: images/{cam} is {frames.dtype} {list(frames.shape)}; expected uint8 [{len(state)}, H, W, 3]"
            )
    return len(state)


def import_hdf5(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    fps: float,
    task: str | None = None,
    robot_type: str | None = None,
    overwrite: bool = False,
    **writer_kwargs: Any,
) -> Path:
    """Convert HDF5 files (ALOHA or robomimic) into one LeRobot v3 dataset at ``out``."""
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: HDF5 file not found")
    writer: LeRobotV3Writer | None = None
    layout: tuple | None = None
    try:
        for path in paths:
            for label, ep in _episodes(path):
                _check(label, ep)
                state_names = ep["state_names"] or [f"qpos.{i}" for i in range(ep["state"].shape[1])]
                this = (tuple(state_names), ep["action"].shape[1], {k: v.shape[1:3] for k, v in ep["images"].items()})
                if writer is None:
                    layout = this
                    writer = LeRobotV3Writer(
                        out,
                        fps,
                        {
                            "observation.state": feature_spec(state_names),
                            "action": feature_spec([f"action.{i}" for i in range(this[1])]),
                        },
                        cameras={k: tuple(hw) for k, hw in this[2].items()},
                        robot_type=robot_type,
                        librobot={"source": "hdf5", "files": [str(p) for p in paths]},
                        overwrite=overwrite,
                        **writer_kwargs,
                    )
                elif this != layout:
                    raise HDF5ImportError(
                        f"{label}: layout (state names, action dim, camera sizes) {this} differs from the first episode's {layout}"
                    )
                text = ep["task"] or task
                if not text:
                    raise HDF5ImportError(f"{label}: no task/instruction in the file; pass task=")
                writer.add_episode(text, {"observation.state": ep["state"], "action": ep["action"]}, ep["images"])
        if writer is None:
            raise HDF5ImportError("no episodes found in the given files")
        return writer.finalize()
    except BaseException:
        if writer is not None:
            writer._close_files()
        raise
