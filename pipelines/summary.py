"""What a pipeline run left behind: MLflow runs, the production model version, the BentoML model.

``python -m pipelines.summary --config configs/pipelines/default.yaml`` (``make demo`` runs it).
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def summary(model_name: str, bento_name: str) -> dict[str, Any]:
    from zenml.client import Client
    from zenml.enums import ModelStages

    client = Client()
    out: dict[str, Any] = {"zenml_store": client.zen_store.url, "stack": client.active_stack_model.name}
    tracker = client.active_stack.experiment_tracker
    out["mlflow_tracking_uri"] = (
        tracker.get_tracking_uri() if tracker is not None else os.environ.get("MLFLOW_TRACKING_URI")
    )
    latest = client.get_model_version(model_name)
    out["latest_version"] = {
        "version": latest.name,
        "stage": latest.stage,
        "promotion": latest.run_metadata.get("promotion"),
    }
    try:
        production = client.get_model_version(model_name, ModelStages.PRODUCTION)
        out["production_version"] = {
            "version": production.name,
            "success_rate": production.run_metadata.get("closed_loop_success_rate"),
            "bentoml_tag": production.run_metadata.get("bentoml_tag"),
        }
    except KeyError:
        out["production_version"] = None
    import bentoml

    try:
        model = bentoml.models.get(f"{bento_name}:latest")
        metadata = model.info.metadata
        out["bentoml_model"] = {
            "tag": str(model.tag),
            "path": model.path,
            "runtime": metadata.get("runtime"),
            "int8_rejected": metadata.get("int8_rejected"),
        }
    except bentoml.exceptions.NotFound:
        out["bentoml_model"] = None
    return out


def main() -> None:
    from omegaconf import OmegaConf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/pipelines/default.yaml")
    args = parser.parse_args()
    config = OmegaConf.load(args.config)
    info = summary(str(config.model.name), str(config.parameters.get("bento_name", "librobot-policy")))
    production, bento = info["production_version"], info["bentoml_model"]
    print("\n== LibroBot pipeline results ==")
    print(f"ZenML store:      {info['zenml_store']} (stack {info['stack']})")
    print(f"MLflow runs:      {info['mlflow_tracking_uri']}")
    print(f"                  browse: mlflow ui --backend-store-uri {info['mlflow_tracking_uri']}")
    latest = info["latest_version"]
    reason = (latest["promotion"] or {}).get("reason", "no promotion decision recorded")
    print(f"Latest version:   {config.model.name} v{latest['version']} (stage {latest['stage']}): {reason}")
    rejected = (latest["promotion"] or {}).get("int8_rejected")
    if rejected:
        print(f"Quantization:     int8 rejected, the model serves fp32 (runtime onnx): {rejected}")
    if production:
        print(
            f"Production:       {config.model.name} v{production['version']}, closed-loop success {production['success_rate']}"
        )
    else:
        print("Production:       none yet")
    if bento:
        print(f"BentoML model:    {bento['tag']} at {bento['path']} (runtime {bento['runtime']})")
        home = os.environ.get("BENTOML_HOME", "~/bentoml")
        print(
            f"Serve it:         BENTOML_HOME={home} LIBROBOT_MODEL_TAG={bento['tag']} "
            ".venv/bin/bentoml serve librobot.serving.service:PolicyService --port 3000"
        )
    else:
        print("BentoML model:    none packaged (no version was promoted: see the reason above)")


if __name__ == "__main__":
    main()
