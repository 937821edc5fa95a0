"""The images install exactly requirements.lock (the GPU image: requirements-cuda.lock, the same pins
with torch's CUDA build), the same pins as the venv `make setup` builds; compose and make run them."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[str]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _lock(name: str = "requirements.lock") -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _stage(name: str) -> str:
    """The instructions of one build stage (from its FROM line to the next)."""
    return re.split(r"^FROM ", DOCKERFILE.split(f" AS {name}\n", 1)[1], flags=re.MULTILINE)[0]


def test_both_targets_exist_and_deploy_serves_the_policy_service():
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE, flags=re.MULTILINE | re.IGNORECASE)
    assert {"train", "deploy"} <= set(stages)
    deploy = DOCKERFILE.split("AS deploy", 1)[1]
    assert "librobot.serving.service:PolicyService" in deploy and "EXPOSE 3000" in deploy


def test_python_packages_come_from_requirements_lock_only():
    installs = [line for line in _instructions() if "pip install" in line]
    assert any("-r /tmp/requirements.lock" in line for line in installs)
    assert "COPY requirements.lock /tmp/requirements.lock" in _instructions()
    for line in installs:
        for command in line.split("&&"):
            if "pip install" not in command:
                continue
            words = command.split("pip install", 1)[1].split()
            locks = ("/tmp/requirements.lock", "/tmp/requirements-cuda.lock")
            extra = [w for w in words if not w.startswith("-") and w not in ('"${TORCH_INDEX_URL}"', *locks)]
            # besides the lock: pip/wheel themselves, and librobot (with --no-deps, so nothing else comes along)
            assert set(extra) <= {"pip", "wheel", ".", "-e"}, f"unpinned install in the Dockerfile: {command}"
            if "." in extra:
                assert "--no-deps" in words, f"librobot must install with --no-deps: {command}"


def test_torch_cpu_pin_has_its_index():
    assert _lock()["torch"].endswith("+cpu")
    assert re.search(r'--extra-index-url "\$\{TORCH_INDEX_URL\}"', DOCKERFILE)
    assert re.search(r"ARG TORCH_INDEX_URL=\S+/cpu", DOCKERFILE)


def test_lock_matches_the_venv():
    mismatched = {}
    for name, version in _lock().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            mismatched[name] = (version, installed)
    assert not mismatched, f"requirements.lock vs installed (lock, venv): {mismatched}"


def test_cuda_target_runs_on_a_cuda_base_with_the_cuda_lock():
    base = {stage: image for image, stage in re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", DOCKERFILE, flags=re.M)}
    assert base["train-cuda"] == "cuda-base" and base["deps-cuda"] == "cuda-base"
    assert base["cuda-base"] == "${CUDA_IMAGE}"
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+-runtime-\S+$", DOCKERFILE, flags=re.MULTILINE)
    deps = _stage("deps-cuda")
    assert "COPY requirements-cuda.lock /tmp/requirements-cuda.lock" in deps
    assert "pip install -r /tmp/requirements-cuda.lock" in deps
    assert "requirements.lock" not in deps.replace("requirements-cuda.lock", "")  # the CPU torch stays out
    assert "TORCH_INDEX_URL" not in deps  # torch's CUDA wheel is PyPI's own
    train = _stage("train-cuda")
    assert "COPY --from=deps-cuda /opt/venv /opt/venv" in train and "pip install --no-deps -e ." in train
    assert 'ENTRYPOINT ["librobot"]' in train and "MUJOCO_GL=egl" in train
    # the CPU train image and the GPU one ship the same sources and data pointer
    copies = [line for line in _stage("train").splitlines() if line.startswith("COPY ")]
    assert copies and all(line in train for line in copies)


def test_cuda_lock_is_the_cpu_lock_with_torchs_cuda_build():
    cpu, cuda = _lock(), _lock("requirements-cuda.lock")
    torch = cpu.pop("torch")
    assert torch.endswith("+cpu") and cuda.pop("torch") == torch.removesuffix("+cpu")  # PyPI's wheel: CUDA 13.0
    added = {name: cuda.pop(name) for name in list(cuda) if name not in cpu}
    assert cuda == cpu, "requirements-cuda.lock drifted from requirements.lock"
    assert "nvidia-nccl-cu13" in added and "triton" in added and all(v for v in added.values())


def test_compose_runs_mlflow_the_policy_service_and_gpu_training():
    compose = yaml.safe_load((ROOT / "infra" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"mlflow", "policy", "train-gpu"} <= set(services)
    gpu = services["train-gpu"]
    assert gpu["build"]["target"] == "train-cuda" and gpu["image"].endswith("librobot:train-cuda}")
    assert gpu["profiles"] == ["gpu"]  # a plain `compose up` still runs on machines without GPUs
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "librobot train" in " ".join(gpu["command"])
    targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE, flags=re.MULTILINE))
    assert all(s["build"]["target"] in targets for s in services.values())


def test_make_docker_build_builds_every_image_compose_runs():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndocker-build:", 1)[1].split("\n\n", 1)[0]
    built = set(re.findall(r"--target (\S+)", recipe))
    compose = yaml.safe_load((ROOT / "infra" / "docker-compose.yml").read_text())
    assert {s["build"]["target"] for s in compose["services"].values()} <= built
    run = makefile.split("\ndocker-run:", 1)[1].split("\n\n", 1)[0]
    assert "docker compose -f infra/docker-compose.yml" in run and "--profile gpu" in run
