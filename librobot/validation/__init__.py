"""Data validation: a Great Expectations 1.x suite over a LeRobot v3 dataset's frames and episodes.

``validate_dataset(root, robot)`` returns a ``ValidationReport`` (success, the failed expectations
in words, the GX result as JSON); ``check_dataset`` raises ``DatasetValidationError`` carrying it.
GX is imported lazily: ``import librobot`` stays fast.
"""

from librobot.validation.report import DatasetValidationError, FailedExpectation, ValidationReport
from librobot.validation.validate import ValidationSettings, check_dataset, validate_dataset, validate_for_experiment

__all__ = [
    "DatasetValidationError",
    "FailedExpectation",
    "ValidationReport",
    "ValidationSettings",
    "check_dataset",
    "validate_dataset",
    "validate_for_experiment",
]
