"""The safe action a robot client falls back on, for bundles packaged before specs carried one.

A spec names its safe action per action feature (``Feature.safe``; docs/serving.md). Bundles and
packaged models from before that field exist: their robot spec has no safe values, and the
generic default (hold a same-named state, else repeat the last action) would keep a wheel loader's
throttle open. When this code defines a robot of the same name and action names, its safe values
apply.
"""

from __future__ import annotations

import dataclasses

from librobot.registry import REGISTRY
from librobot.robots.spec import RobotSpec


def with_known_safe_action(spec: RobotSpec) -> RobotSpec:
    """``spec``, with the safe values of the robot this code defines by that name when ``spec`` has none."""
    if any(f.safe is not None for f in spec.action):
        return spec

    try:
        known = REGISTRY.get("robot", spec.name)
    except (KeyError, ValueError):  # a robot defined in YAML or derived from a dataset: the defaults apply
        return spec
    if not isinstance(known, RobotSpec) or known.action_names != spec.action_names:
        return spec
    action = tuple(dataclasses.replace(f, safe=k.safe) for f, k in zip(spec.action, known.action, strict=True))
    return dataclasses.replace(spec, action=action)
