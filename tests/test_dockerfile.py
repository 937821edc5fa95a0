"""The images install exactly requirements.lock, the same pins as the venv `make setup` builds."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[str]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


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
            extra = [
                w
                for w in words
                if not w.startswith("-") and w not in ('"${TORCH_INDEX_URL}"', "/tmp/requirements.lock")
            ]
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
