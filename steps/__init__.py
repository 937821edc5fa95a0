"""ZenML steps: thin adapters from pipeline artifacts to ``librobot.pipeline_ops`` (the one body Kubeflow runs too)."""

from steps.data import load_dataset, normalize, validate
from steps.evaluate import evaluate
from steps.export import export, quantize
from steps.package import package
from steps.promote import promote
from steps.train import train

__all__ = ["evaluate", "export", "load_dataset", "normalize", "package", "promote", "quantize", "train", "validate"]
