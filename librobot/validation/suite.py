"""The expectation suites: what a LeRobot v3 dataset must satisfy before we train on it.

Each expectation carries ``meta["why"]``: the sentence the report prints when it fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from librobot.robots import RobotSpec
from librobot.validation.tables import INDEX_COLUMNS, DatasetTables

_NUMPY_DTYPES = {"float32", "float64", "int32", "int64", "bool"}


def _expectation(gxe: Any, kind: str, why: str, **kwargs: Any) -> Any:
    return getattr(gxe, kind)(meta={"why": why}, **kwargs)


def _with_tolerance(lo: float, hi: float, tolerance: float) -> tuple[float | None, float | None] | None:
    """Widen finite bounds by ``tolerance`` x the range (x the bound's magnitude when one side is open)."""
    if not np.isfinite(lo) and not np.isfinite(hi):
        return None
    span = hi - lo if np.isfinite(lo) and np.isfinite(hi) else max(1.0, abs(lo if np.isfinite(lo) else hi))
    margin = tolerance * span
    return (lo - margin if np.isfinite(lo) else None, hi + margin if np.isfinite(hi) else None)


def frame_expectations(tables: DatasetTables, robot: RobotSpec, settings: Any) -> list[Any]:
    import great_expectations.expectations as gxe

    info, out = tables.info, []
    features = info.get("features", {})
    for column in INDEX_COLUMNS:
        out.append(_expectation(gxe, "ExpectColumnToExist", f"frames have the column {column}", column=column))
    for feature in ("observation.state", "action"):  # present when its per-row width could be taken
        out.append(
            _expectation(gxe, "ExpectColumnToExist", f"frames have the column {feature}", column=f"{feature}.dim")
        )
    for column in INDEX_COLUMNS:
        dtype = features.get(column, {}).get("dtype")
        if dtype in _NUMPY_DTYPES:
            why = f"{column} has dtype {dtype} as meta/info.json declares"
            out.append(_expectation(gxe, "ExpectColumnValuesToBeOfType", why, column=column, type_=dtype))
        out.append(_expectation(gxe, "ExpectColumnValuesToNotBeNull", f"{column} has no missing values", column=column))
    if "total_frames" in info:
        why = f"the data files hold total_frames={info['total_frames']} frames (meta/info.json)"
        out.append(_expectation(gxe, "ExpectTableRowCountToEqual", why, value=int(info["total_frames"])))

    for feature, kind in (("observation.state", "state"), ("action", "action")):
        dim = robot.state_dim if kind == "state" else robot.action_dim
        why = f"every {feature} has {dim} values (robot {robot.name})"
        out.append(
            _expectation(
                gxe, "ExpectColumnValuesToBeBetween", why, column=f"{feature}.dim", min_value=dim, max_value=dim
            )
        )
        why = f"{feature} holds no NaN or inf"
        out.append(_expectation(gxe, "ExpectColumnValuesToBeInSet", why, column=f"{feature}.finite", value_set=[True]))
        dtype = features.get(feature, {}).get("dtype")
        low, high = robot.bounds(kind)
        for column, lo, hi in zip(tables.vector_columns.get(feature, []), low, high, strict=False):
            bounds = _with_tolerance(float(lo), float(hi), settings.bounds_tolerance)
            if bounds is not None:
                lo_t, hi_t = bounds
                why = f"{column} lies within the robot's bounds [{lo:g}, {hi:g}] +- {settings.bounds_tolerance:.0%} of the range"
                out.append(
                    _expectation(
                        gxe, "ExpectColumnValuesToBeBetween", why, column=column, min_value=lo_t, max_value=hi_t
                    )
                )
            if dtype in _NUMPY_DTYPES:
                why = f"{column} has dtype {dtype} as meta/info.json declares"
                out.append(_expectation(gxe, "ExpectColumnValuesToBeOfType", why, column=column, type_=dtype))

    fps = float(info.get("fps", robot.fps))
    why = "timestamps increase strictly within each episode"
    out.append(
        _expectation(gxe, "ExpectColumnValuesToBeBetween", why, column="timestamp.step", min_value=0.0, strict_min=True)
    )
    lo_dt, hi_dt = (1 - settings.fps_tolerance) / fps, (1 + settings.fps_tolerance) / fps
    why = f"frames are 1/fps = {1 / fps:.4g} s apart (fps {fps:g} in meta/info.json, +-{settings.fps_tolerance:.0%})"
    out.append(
        _expectation(
            gxe, "ExpectColumnValuesToBeBetween", why, column="timestamp.step", min_value=lo_dt, max_value=hi_dt
        )
    )
    why = "frame_index counts up by one within each episode"
    out.append(
        _expectation(gxe, "ExpectColumnValuesToBeBetween", why, column="frame_index.step", min_value=1, max_value=1)
    )
    why = "the global frame index is unique"
    out.append(_expectation(gxe, "ExpectColumnValuesToBeUnique", why, column="index"))
    return out


def episode_expectations(tables: DatasetTables, settings: Any) -> list[Any]:
    import great_expectations.expectations as gxe

    info, out = tables.info, []
    for column in ("episode_index", "length"):
        out.append(_expectation(gxe, "ExpectColumnToExist", f"episode metadata has the column {column}", column=column))
    out.append(_expectation(gxe, "ExpectColumnValuesToBeUnique", "episode indices are unique", column="episode_index"))
    if "total_episodes" in info:
        why = f"meta/episodes lists total_episodes={info['total_episodes']} episodes (meta/info.json)"
        out.append(_expectation(gxe, "ExpectTableRowCountToEqual", why, value=int(info["total_episodes"])))
    hi = settings.max_episode_length
    why = f"episode lengths lie in [{settings.min_episode_length}, {hi if hi is not None else 'any'}] frames"
    out.append(
        _expectation(
            gxe,
            "ExpectColumnValuesToBeBetween",
            why,
            column="length",
            min_value=settings.min_episode_length,
            max_value=hi,
        )
    )
    why = "each episode's length matches the frames the data files hold for it"
    out.append(_expectation(gxe, "ExpectColumnPairValuesToBeEqual", why, column_A="length", column_B="frames_in_data"))
    return out
