"""Which dimensions of a dataset's state or action vector a policy uses, in which order, by which names.

``data.state_features`` / ``data.action_features`` in an experiment config:

- ``null``: every dimension, as the dataset names them;
- a list of the dataset's names: keep those, in that order (e.g. proprioception only);
- a mapping ``{robot_name: dataset_name}``: keep and rename, in the mapping's order, so a dataset
  recorded under other names trains a robot whose spec names them its own way.

The same selection applies wherever the dataset is read (training samples, stats, validation), so
what the normalizer, the bundle's robot and the policy see always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FeatureSelection:
    names: tuple[str, ...]  # what the policy calls each kept dimension
    index: tuple[int, ...]  # its column in the dataset's vector

    def take(self, values: np.ndarray) -> np.ndarray:
        """The kept dimensions of ``values`` [..., D_dataset] -> [..., D_kept]."""
        return np.asarray(values)[..., list(self.index)]

    def take_stats(self, stats: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-dimension stats (mean, std, min, max, quantiles) of the kept dimensions; counts as they are."""
        width = max(self.index, default=-1) + 1
        return {
            key: self.take(value) if np.ndim(value) and np.shape(value)[-1] >= width and key != "count" else value
            for key, value in stats.items()
        }


def select_features(dataset_names: Sequence[str], spec: Any, field: str) -> FeatureSelection:
    """``spec`` as in the module docstring; ``field`` names it in errors (``data.state_features``)."""
    dataset_names = list(dataset_names)
    if spec is None:
        return FeatureSelection(tuple(dataset_names), tuple(range(len(dataset_names))))
    if hasattr(spec, "items"):
        pairs = [(str(k), str(v)) for k, v in spec.items()]
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        pairs = [(str(n), str(n)) for n in spec]
    else:
        raise ValueError(f"{field} must be null, a list of dataset names or a mapping robot name -> dataset name")
    if not pairs:
        raise ValueError(f"{field} selects nothing; the dataset has {dataset_names}")
    missing = [source for _, source in pairs if source not in dataset_names]
    if missing:
        raise ValueError(
            f"{field} asks for {missing}, which the dataset does not have; the dataset has {dataset_names}, "
            f"the selection wants {[source for _, source in pairs]}"
        )
    names = [name for name, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{field} names {repeated} more than once")
    return FeatureSelection(tuple(names), tuple(dataset_names.index(source) for _, source in pairs))
