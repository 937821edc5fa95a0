# LibroBot: every target sets itself up first (scripts/setup.sh is idempotent and fast when done).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PIPELINE_CONFIG ?= configs/pipelines/default.yaml
IMAGE ?= librobot
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup data demo test lint format lock proto docker-build docker-run clean

setup:
	@bash scripts/setup.sh

## The DVC-versioned datasets (offline: the default remote is dvc-storage/ in this repo).
data: setup
	@$(BIN)/dvc pull -q

## The main job: the training pipeline end to end on the default dataset.
demo: data
	@bash scripts/demo.sh

## The whole test suite, after the linter; then the tests whose results depend on float kernels
## (-m numeric) again on torch's AVX2 kernels, so an AVX-512 machine also checks what an AVX2 one
## computes. ATEN_CPU_CAPABILITY is read when torch is imported: it needs its own process.
test: data lint
	$(BIN)/python -m pytest -q
	ATEN_CPU_CAPABILITY=avx2 $(BIN)/python -m pytest -q -m numeric

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-pin every installed version after changing pyproject.toml's dependencies.
lock: setup
	$(BIN)/pip install -q -e ".[all]"
	$(BIN)/pip freeze --exclude-editable | grep -vi '^librobot' > requirements.lock

## The gRPC messages (policy_pb2.py, .pyi) from their .proto; the service binding is policy_rpc.py (by hand).
proto: setup
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. \
		librobot/serving/proto/policy.proto

## The images (Dockerfile targets train, deploy and train-cuda), then the services of
## infra/docker-compose.yml: MLflow (:5000) + the policy service (:3000); GPU=1 also trains on the GPUs.
docker-build:
	docker build --target train -t $(IMAGE):train .
	docker build --target deploy -t $(IMAGE):deploy .
	docker build --target train-cuda -t $(IMAGE):train-cuda .

docker-run:
	LIBROBOT_TRAIN_IMAGE=$(IMAGE):train LIBROBOT_DEPLOY_IMAGE=$(IMAGE):deploy LIBROBOT_CUDA_IMAGE=$(IMAGE):train-cuda \
		docker compose -f infra/docker-compose.yml $(if $(GPU),--profile gpu) up

clean:
	rm -rf outputs .pytest_cache
