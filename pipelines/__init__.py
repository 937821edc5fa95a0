"""Pipelines: the ZenML training pipeline (``training.py``) and its Kubeflow twin (``kubeflow.py``)."""
