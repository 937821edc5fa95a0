# syntax=docker/dockerfile:1.7
# LibroBot images, built from the same requirements.lock as `make setup`:
#   docker build --target train  -t librobot:train .    # pipeline steps, KFP components, training
#   docker build --target deploy -t librobot:deploy .   # `bentoml serve` of a packaged policy
# requirements.lock pins torch==2.13.0+cpu: pip finds it on PyTorch's CPU wheel index (the extra
# index below); point TORCH_INDEX_URL at a CUDA index and re-lock for GPU images.
ARG PYTHON_VERSION=3.11

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
