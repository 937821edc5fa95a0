#!/usr/bin/env bash
# Register a remote ZenML stack: a ZenML server, Kubeflow as orchestrator, an object-store artifact
# store, a container registry for the `train` image and an MLflow server as experiment tracker.
# Fill the variables (or export them) and run once per workspace; see docs/pipeline.md.
#   ZENML_SERVER_URL=https://zenml.example.org KUBEFLOW_HOST=https://kfp.example.org/pipeline \
#   ARTIFACT_STORE_PATH=s3://bucket/zenml CONTAINER_REGISTRY_URI=registry.example.org/librobot \
#   MLFLOW_TRACKING_URI=https://mlflow.example.org MLFLOW_TRACKING_USERNAME=u MLFLOW_TRACKING_PASSWORD=p \
#   bash infra/zenml/register_remote_stack.sh
set -euo pipefail
ZENML=${ZENML:-.venv/bin/zenml}
STACK=${LIBROBOT_STACK:-librobot_kubeflow}
: "${ZENML_SERVER_URL:?set ZENML_SERVER_URL to your ZenML server}"
: "${KUBEFLOW_HOST:?set KUBEFLOW_HOST to the Kubeflow Pipelines API endpoint}"
: "${ARTIFACT_STORE_PATH:?set ARTIFACT_STORE_PATH (s3://, gs:// or az://)}"
: "${CONTAINER_REGISTRY_URI:?set CONTAINER_REGISTRY_URI}"
: "${MLFLOW_TRACKING_URI:?set MLFLOW_TRACKING_URI to the MLflow server}"

$ZENML login "$ZENML_SERVER_URL"
# flavors for the remote components (installs their client libraries into this venv)
$ZENML integration install -y kubeflow mlflow s3
$ZENML artifact-store register librobot_store --flavor=s3 --path="$ARTIFACT_STORE_PATH"
$ZENML container-registry register librobot_registry --flavor=default --uri="$CONTAINER_REGISTRY_URI"
$ZENML experiment-tracker register librobot_mlflow_remote --flavor=mlflow \
  --tracking_uri="$MLFLOW_TRACKING_URI" \
  --tracking_username="${MLFLOW_TRACKING_USERNAME:?}" --tracking_password="${MLFLOW_TRACKING_PASSWORD:?}"
$ZENML orchestrator register librobot_kubeflow --flavor=kubeflow --kubeflow_hostname="$KUBEFLOW_HOST"
$ZENML stack register "$STACK" -o librobot_kubeflow -a librobot_store -c librobot_registry -e librobot_mlflow_remote
$ZENML stack set "$STACK"
echo "stack $STACK active: zenml pipeline run pipelines.training.training_pipeline -c configs/pipelines/default.yaml"
