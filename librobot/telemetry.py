"""Telemetry of every library in the stack is off unless the user turned it on explicitly."""

import os

_OFF = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "HF_HUB_OFFLINE": "1",  # nothing downloads weights at run time
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}


def disable_telemetry() -> None:
    for key, value in _OFF.items():
        os.environ.setdefault(key, value)
