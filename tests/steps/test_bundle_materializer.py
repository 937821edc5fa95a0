"""The bundle materializer stores the bundle's own files (safetensors + JSON), never a pickle."""

from __future__ import annotations

import json

import pytest
import torch

from librobot.bundle import Bundle, save_bundle
from librobot.checkpoint import load_weights
from librobot.config import validate
from librobot.robots import load_robot


@pytest.fixture
def bundle_dir(tmp_path):
    model = torch.nn.Linear(3, 2)
    normalization = {
        "robot": load_robot("so100_arm").to_dict(),  # a full spec: bundles check theirs when loaded
        "normalizer": {},
        "cameras": ["front"],
        "action_horizon": 4,
        "obs_horizon": 1,
    }
    metadata = {"dataset": {"path": "data/x", "md5": "abc.dir"}, "train_metrics": {"loss": 0.5, "steps": 10}}
    path = save_bundle(
        tmp_path / "bundle", validate({"name": "t", "robot": "so100_arm"}), model, normalization, metadata
    )
    (path / "onnx").mkdir()
    (path / "onnx" / "policy.onnx").write_bytes(b"onnx-bytes")
    (path / "train").mkdir()  # the trainer's checkpoints and logs: not part of the bundle
    (path / "train" / "log.txt").write_text("step 1")
    return path, model


def _materializer(tmp_path):
    import uuid
    from pathlib import Path

    from zenml.client import Client

    from steps.materializers import BundleMaterializer

    uri = Path(Client().active_stack.artifact_store.path) / "tests" / uuid.uuid4().hex  # inside the store's bounds
    uri.mkdir(parents=True)
    return BundleMaterializer(str(uri)), uri


def test_round_trip_keeps_files_and_weights_without_pickle(bundle_dir, tmp_path):
    from librobot.bundle import load_bundle

    path, model = bundle_dir
    materializer, uri = _materializer(tmp_path)
    bundle = load_bundle(path, with_model=False)
    materializer.save(bundle)
    stored = sorted(p.relative_to(uri).as_posix() for p in uri.rglob("*") if p.is_file())
    assert stored == sorted(
        [
            "bundle_manifest.json",
            "config.yaml",
            "metadata.json",
            "model.safetensors",
            "normalization.json",
            "onnx/policy.onnx",
        ]
    )
    for p in uri.rglob("*"):
        if p.is_file():
            assert not p.read_bytes().startswith(b"\x80"), f"{p} looks like a pickle"

    loaded = materializer.load(Bundle)
    assert isinstance(loaded, Bundle) and loaded.path != path  # a fresh copy: steps may add files
    assert loaded.normalization == bundle.normalization and loaded.metadata == bundle.metadata
    weights = load_weights(loaded.path / "model.safetensors")
    assert torch.equal(weights["weight"], model.weight.detach())
    assert (loaded.path / "onnx" / "policy.onnx").read_bytes() == b"onnx-bytes"

    meta = materializer.extract_metadata(loaded)
    assert meta["dataset_md5"] == "abc.dir" and meta["train_metrics.loss"] == 0.5 and meta["onnx"] == ["policy.onnx"]
    assert materializer.compute_content_hash(loaded) == materializer.compute_content_hash(bundle)


def test_refuses_pickles_and_incomplete_bundles(bundle_dir, tmp_path):
    from librobot.bundle import BundleError, load_bundle

    path, _ = bundle_dir
    bundle = load_bundle(path, with_model=False)
    materializer, _ = _materializer(tmp_path)
    torch.save({"x": 1}, path / "onnx" / "extra.pt")
    with pytest.raises(BundleError, match="onnx/extra.pt looks like a pickle"):
        materializer.save(bundle)
    (path / "onnx" / "extra.pt").unlink()
    (path / "normalization.json").unlink()
    with pytest.raises(BundleError, match="missing normalization.json"):
        materializer.save(bundle)


def test_manifest_cannot_escape_the_artifact(bundle_dir, tmp_path):
    from librobot.bundle import BundleError, load_bundle

    path, _ = bundle_dir
    materializer, uri = _materializer(tmp_path)
    materializer.save(load_bundle(path, with_model=False))
    (uri / "bundle_manifest.json").write_text(json.dumps({"files": ["../../etc/passwd"]}))
    with pytest.raises(BundleError, match="points outside the bundle"):
        materializer.load(Bundle)


def test_a_fitted_action_tokenizer_travels_with_the_bundle(bundle_dir, tmp_path):
    """A FAST policy decodes with its action_tokenizer.json: the artifact must carry it."""
    import shutil

    from librobot.bundle import load_bundle

    path, _ = bundle_dir
    copy = shutil.copytree(path, tmp_path / "with_tokenizer")
    (copy / "action_tokenizer.json").write_text('{"name": "fast"}')
    materializer, uri = _materializer(tmp_path)
    materializer.save(load_bundle(copy, with_model=False))
    assert (uri / "action_tokenizer.json").read_text() == '{"name": "fast"}'
    assert (materializer.load(Bundle).path / "action_tokenizer.json").read_text() == '{"name": "fast"}'
