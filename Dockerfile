# syntax=docker/dockerfile:1.7
# LibroBot images, built from the same requirements.lock as `make setup`:
#   docker build --target train  -t librobot:train .    # pipeline steps, KFP components, training
#   docker build --target deploy -t librobot:deploy .   # `bentoml serve` of a packaged policy
#   docker build --target train-cuda -t librobot:train-cuda .   # training on NVIDIA GPUs (CUDA 13.0)
# requirements.lock pins torch==2.13.0+cpu: pip finds it on PyTorch's CPU wheel index (the extra
# index below). The GPU image installs requirements-cuda.lock (the same pins, torch's CUDA build).
ARG PYTHON_VERSION=3.11
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-runtime-ubuntu22.04

# ---- deps: one virtualenv holding exactly requirements.lock ----------------------------------
FROM python:${PYTHON_VERSION}-slim AS deps
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock /tmp/requirements.lock
RUN pip install --upgrade pip wheel \
 && pip install --extra-index-url "${TORCH_INDEX_URL}" -r /tmp/requirements.lock

# ---- runtime base: what every image shares ----------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
    ZENML_ANALYTICS_OPT_IN=false DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false \
    BENTOML_DO_NOT_TRACK=true MLFLOW_ENABLE_TELEMETRY=false HF_HUB_OFFLINE=1 DO_NOT_TRACK=1
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app

# ---- train: pipeline steps, KFP components, `librobot train`, `accelerate launch` --------------
FROM runtime AS train
# headless MuJoCo rendering (MUJOCO_GL=egl) for recording and closed-loop evaluation; git for DVC
RUN apt-get update \
 && apt-get install -y --no-install-recommends libegl1 libgl1 libgl1-mesa-dri libglib2.0-0 git \
 && rm -rf /var/lib/apt/lists/*
ENV MUJOCO_GL=egl PYOPENGL_PLATFORM=egl
COPY pyproject.toml README.md ./
COPY librobot ./librobot
RUN pip install --no-deps -e .
COPY configs ./configs
COPY steps ./steps
COPY pipelines ./pipelines
COPY infra ./infra
# the DVC pointer and its in-repo offline remote: `dvc pull` restores data/ inside the container
COPY data.dvc ./
COPY .dvc/config ./.dvc/config
COPY dvc-storage ./dvc-storage
RUN git init -q .  # DVC needs a repo (or --no-scm) to pull into; the image is not a git checkout
ENTRYPOINT ["librobot"]
CMD ["--help"]

# ---- deploy: the BentoML policy service ----------------------------------------------------------
FROM runtime AS deploy
COPY pyproject.toml README.md ./
COPY librobot ./librobot
RUN pip install --no-deps . \
 && useradd --create-home --uid 1000 librobot \
 && mkdir -p /home/librobot/bentoml && chown -R librobot /home/librobot
USER librobot
ENV BENTOML_HOME=/home/librobot/bentoml
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/readyz')"
CMD ["bentoml", "serve", "librobot.serving.service:PolicyService", "--host", "0.0.0.0", "--port", "3000"]

# ---- train-cuda: the train image on NVIDIA's CUDA runtime, torch's CUDA build ---------------------
# torch's wheel brings its CUDA libraries (cuDNN, NCCL, cuBLAS, ...); the base image adds the CUDA
# runtime layout the NVIDIA container toolkit expects. Python 3.11 (the version the locks are for)
# comes from the deadsnakes PPA, since Ubuntu 22.04 ships 3.10.
FROM ${CUDA_IMAGE} AS cuda-base
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get install -y --no-install-recommends python${PYTHON_VERSION} python${PYTHON_VERSION}-venv \
    libegl1 libgl1 libgl1-mesa-dri libglib2.0-0 git \
 && apt-get purge -y software-properties-common gpg-agent && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*

FROM cuda-base AS deps-cuda
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python${PYTHON_VERSION} -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-cuda.lock /tmp/requirements-cuda.lock
RUN pip install --upgrade pip wheel \
 && pip install -r /tmp/requirements-cuda.lock

FROM cuda-base AS train-cuda
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
    ZENML_ANALYTICS_OPT_IN=false DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false \
    BENTOML_DO_NOT_TRACK=true MLFLOW_ENABLE_TELEMETRY=false HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 \
    MUJOCO_GL=egl PYOPENGL_PLATFORM=egl \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
# (graphics: the driver's EGL, so MuJoCo renders evaluation rollouts on the GPU too)
COPY --from=deps-cuda /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY librobot ./librobot
RUN pip install --no-deps -e .
COPY configs ./configs
COPY steps ./steps
COPY pipelines ./pipelines
COPY infra ./infra
COPY data.dvc ./
COPY .dvc/config ./.dvc/config
COPY dvc-storage ./dvc-storage
RUN git init -q .
ENTRYPOINT ["librobot"]
CMD ["--help"]
