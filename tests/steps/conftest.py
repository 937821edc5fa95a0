"""Isolated ZenML / MLflow / BentoML homes for step tests (set before zenml is imported anywhere)."""

from tests.helpers.zenml_home import isolate_zenml_home

isolate_zenml_home()
