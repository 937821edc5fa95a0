"""Package an exported policy bundle as a BentoML model that carries its normalization.

The model holds the ONNX graph(s) (and the text graph they share, where the instruction is encoded
apart), the tokenizer files and the bundle's config; its metadata holds
everything the service needs to check and normalize observations (robot spec, normalizer modes and
stats, cameras, image shape, chunk settings) plus the versions (model version, dataset md5, code
commit, export parity). The service reads that metadata and nothing else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from librobot.bundle import CONFIG_FILE, METADATA_FILE, NORMALIZATION_FILE, WEIGHTS_FILE, file_digest, read_json
from librobot.inference.policy import ONNX_FILES, TOKENIZER_DIR
from librobot.inference.text_features import TEXT_ONNX_FILE
from librobot.policy_spec import PolicySpec
from librobot.serving import DEFAULT_MODEL_NAME
from librobot.serving.runtime_choice import measure_and_choose


def package_metadata(
    bundle_dir: Path, normalization: dict[str, Any], metadata: dict[str, Any], runtime: str
) -> dict[str, Any]:

    export = metadata.get("export") or {}
    dataset = metadata.get("dataset") or {}
    # JSON round trip: BentoML metadata takes plain JSON types only
    out = json.loads(json.dumps(PolicySpec.from_dict(normalization, bundle_dir / "normalization.json").served()))
    out.update(
        {
            "runtime": runtime,
            "onnx_file": ONNX_FILES[runtime],
            "model_version": metadata.get("model_version") or file_digest(bundle_dir / WEIGHTS_FILE),
            "dataset_path": str(dataset.get("path") or ""),
            "dataset_md5": str(dataset.get("md5") or ""),
            "code_commit": str(metadata.get("code_commit") or ""),
            "bundle_created": str(metadata.get("created") or ""),
            "export_parity": json.loads(
                json.dumps(
                    {k: export[k] for k in ("fp32", "int8", "int4", "opset", "text_graph") if export.get(k)},
                    default=str,
                )
            ),
            # why a quantized graph was rejected (the model then serves fp32): onnx_export.try_quantize
            **{key: str(export[key]) for key in ("int8_rejected", "int4_rejected") if export.get(key)},
        }
    )
    return out


def package_policy(bundle_dir: str | Path, name: str = DEFAULT_MODEL_NAME, runtime: str | None = None) -> str:
    """Create a BentoML model from an exported bundle; returns its tag (``name:version``).

    ``runtime`` picks the graph served by default; None: a quantized graph only where it is faster than
    fp32 on this machine (``runtime_choice``; timings and reason in the metadata's ``runtime_choice``).
    Every exported graph is copied, so ``LIBROBOT_RUNTIME`` can switch at serve time.
    """
    import bentoml

    bundle_dir = Path(bundle_dir)
    normalization = read_json(bundle_dir, NORMALIZATION_FILE)
    metadata = read_json(bundle_dir, METADATA_FILE)
    onnx_dir = bundle_dir / "onnx"
    available = [rt for rt, file in ONNX_FILES.items() if (onnx_dir / file).is_file()]
    if "onnx" not in available or not (onnx_dir / TOKENIZER_DIR).is_dir():
        raise FileNotFoundError(
            f"{onnx_dir} has no policy.onnx and tokenizer/: run `librobot export --policy {bundle_dir}` first"
        )
    choice = None
    if runtime is None:
        choice = measure_and_choose(onnx_dir, {rt: ONNX_FILES[rt] for rt in available})
        runtime = choice["runtime"]
    if runtime not in available:
        raise ValueError(f"runtime {runtime!r} was not exported for {bundle_dir}; exported: {', '.join(available)}")
    meta = package_metadata(bundle_dir, normalization, metadata, runtime)
    meta["runtimes"] = available
    if choice is not None:
        meta["runtime_choice"] = choice
    labels = {
        "robot": str(normalization["robot"]["name"]),
        "runtime": runtime,
        "model_version": str(meta["model_version"]),
        "dataset_md5": str(meta["dataset_md5"])[:63] or "unknown",
    }
    with bentoml.models.create(name, labels=labels, metadata=meta) as model:
        target = Path(model.path)
        for rt in available:
            shutil.copy2(onnx_dir / ONNX_FILES[rt], target / ONNX_FILES[rt])
        shutil.copytree(onnx_dir / TOKENIZER_DIR, target / TOKENIZER_DIR)
        if (onnx_dir / TEXT_ONNX_FILE).is_file():  # the instruction's graph, shared by every policy graph
            shutil.copy2(onnx_dir / TEXT_ONNX_FILE, target / TEXT_ONNX_FILE)
        shutil.copy2(bundle_dir / CONFIG_FILE, target / CONFIG_FILE)
    return str(model.tag)
