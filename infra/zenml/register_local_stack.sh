#!/usr/bin/env bash
# The local ZenML stack the demo runs on: ZenML's default orchestrator and artifact store plus an
# MLflow experiment tracker (a sqlite store under outputs/mlflow unless MLFLOW_TRACKING_URI says
# otherwise). Idempotent; activates the stack. Needs ZenML's mlflow integration requirements
# (mlflow, python-rapidjson<1.15), which requirements.lock pins.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZENML=${ZENML:-.venv/bin/zenml}
STACK=${LIBROBOT_STACK:-librobot_local}
TRACKER=${LIBROBOT_TRACKER:-librobot_mlflow}
mkdir -p outputs/mlflow
TRACKING_URI=${MLFLOW_TRACKING_URI:-sqlite:///$PWD/outputs/mlflow/mlflow.db}

if ! $ZENML experiment-tracker describe "$TRACKER" >/dev/null 2>&1; then
  $ZENML experiment-tracker register "$TRACKER" --flavor=mlflow --tracking_uri="$TRACKING_URI"
fi
if ! $ZENML stack describe "$STACK" >/dev/null 2>&1; then
  $ZENML stack register "$STACK" -o default -a default -e "$TRACKER"
fi
$ZENML stack set "$STACK" >/dev/null
echo "zenml stack $STACK active (MLflow tracking: $TRACKING_URI)"
