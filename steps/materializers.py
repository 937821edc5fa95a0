"""ZenML materializer for policy bundles: the bundle's own files (safetensors, JSON, YAML, ONNX), never pickle.

ZenML's built-in PyTorch materializer pickles whole modules; a bundle is already a portable,
pickle-free directory, so the artifact is that directory, copied file by file into the artifact
store. Loading copies it to a fresh local directory (steps that add files, like export, never
change a stored artifact) and returns ``load_bundle(..., with_model=False)``: steps pass
``bundle.path`` to the library, which builds the model when it needs it.

Import this module (the pipeline's steps do) to register the materializer for ``Bundle``.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from zenml.enums import ArtifactType
from zenml.materializers.base_materializer import BaseMaterializer

from librobot.bundle import METADATA_FILE, ONNX_DIR, OPTIONAL_FILES, REQUIRED_FILES, Bundle, BundleError, load_bundle
from librobot.data.versioning import file_md5

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib")
MANIFEST = "bundle_manifest.json"
_BLOCK = 1 << 20


def bundle_files(root: Path) -> list[str]:
    """Relative paths of the bundle's files (the contract's files and ``onnx/``); refuses pickles.

    Anything else in the directory (the trainer's ``train/`` checkpoints and logs) is not part of
    the bundle and stays out of the artifact.
    """
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if missing:
        raise BundleError(f"{root} is not a complete policy bundle: missing {', '.join(missing)}")
    files = list(REQUIRED_FILES) + [name for name in OPTIONAL_FILES if (root / name).is_file()]
    if (root / ONNX_DIR).is_dir():
        files += sorted(
            p.relative_to(root).as_posix()
            for p in (root / ONNX_DIR).rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)  # scratch
        )
    pickles = [rel for rel in files if Path(rel).suffix in PICKLE_SUFFIXES]
    if pickles:
        raise BundleError(
            f"{root}: {', '.join(pickles)} looks like a pickle; a policy bundle holds safetensors and JSON only"
        )
    return files


class BundleMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Bundle,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: Bundle) -> None:
        root = Path(data.path)
        files = bundle_files(root)
        store = self.artifact_store
        for rel in files:
            target = os.path.join(self.uri, rel)
            store.makedirs(os.path.dirname(target))
            with open(root / rel, "rb") as src, store.open(target, "wb") as dst:  # local -> any store
                shutil.copyfileobj(src, dst, _BLOCK)
        with store.open(os.path.join(self.uri, MANIFEST), "w") as f:
            f.write(json.dumps({"files": files}))

    def load(self, data_type: type[Any]) -> Bundle:
        store = self.artifact_store
        with store.open(os.path.join(self.uri, MANIFEST), "r") as f:
            files = json.loads(f.read())["files"]
        local = Path(tempfile.mkdtemp(prefix="librobot-bundle-"))
        # the bundle is read by the step that asked for it, until the process ends: removed then
        atexit.register(shutil.rmtree, local, ignore_errors=True)
        for rel in files:
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise BundleError(f"artifact {self.uri}: manifest entry {rel!r} points outside the bundle")
            (local / rel).parent.mkdir(parents=True, exist_ok=True)
            with store.open(os.path.join(self.uri, rel), "rb") as src, open(local / rel, "wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
        return load_bundle(local, with_model=False)

    def compute_content_hash(self, data: Bundle) -> str:
        """md5 over the files, so an unchanged bundle keeps downstream steps cached."""
        h = hashlib.md5(usedforsecurity=False)
        for rel in bundle_files(Path(data.path)):
            h.update(rel.encode())
            h.update(file_md5(Path(data.path) / rel).encode())
        return h.hexdigest()

    def extract_metadata(self, data: Bundle) -> dict[str, Any]:
        meta = json.loads((Path(data.path) / METADATA_FILE).read_text())
        out: dict[str, Any] = {"robot": data.normalization.get("robot", {}).get("name", "")}
        dataset = meta.get("dataset") or {}
        if dataset.get("md5"):
            out["dataset_md5"] = str(dataset["md5"])
        for group in ("train_metrics", "eval_metrics"):
            for key, value in (meta.get(group) or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[f"{group}.{key}"] = float(value)
        out["onnx"] = sorted(p.name for p in (Path(data.path) / "onnx").glob("*.onnx"))
        return out
