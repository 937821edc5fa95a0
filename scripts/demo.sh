#!/usr/bin/env bash
# `make demo`: the ZenML training pipeline end to end on the default dataset, then where to find
# the MLflow runs, the promoted model version and the BentoML model, and how to serve it.
# State lives under outputs/ (ZenML store, MLflow store, BentoML home) unless the variables below
# are already set; a second run reuses ZenML's cache and promotes only a better model.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
CONFIG=${PIPELINE_CONFIG:-configs/pipelines/default.yaml}

export MUJOCO_GL=${MUJOCO_GL:-egl} PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-egl} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export TOKENIZERS_PARALLELISM=false ZENML_ANALYTICS_OPT_IN=false DVC_NO_ANALYTICS=1 BENTOML_DO_NOT_TRACK=true
export ZENML_CONFIG_PATH=${ZENML_CONFIG_PATH:-$PWD/outputs/zenml}
export ZENML_LOCAL_STORES_PATH=${ZENML_LOCAL_STORES_PATH:-$ZENML_CONFIG_PATH/local_stores}
export BENTOML_HOME=${BENTOML_HOME:-$PWD/outputs/bentoml}
export MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-sqlite:///$PWD/outputs/mlflow/mlflow.db}
mkdir -p outputs/mlflow "$BENTOML_HOME"

[ -d .zen ] || "$BIN/zenml" init >/dev/null          # ZenML's source root: steps/ and pipelines/ import from here
ZENML="$BIN/zenml" bash infra/zenml/register_local_stack.sh

started=$(date +%s)
"$BIN/zenml" pipeline run pipelines.training.training_pipeline -c "$CONFIG"
echo "pipeline finished in $(( $(date +%s) - started )) s"

"$BIN/python" -m pipelines.summary --config "$CONFIG"
