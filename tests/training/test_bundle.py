"""Contract: train() writes a complete policy bundle that reloads to the very model it trained."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from librobot.bundle import load_bundle
from librobot.data.dataset import ChunkedDataset, collate
from librobot.data.versioning import dataset_md5
from librobot.robots import load_robot
from librobot.training.callbacks import Callback
from librobot.training.run import train
from tests.helpers.tiny_run import HORIZON, IMAGE_SIZE, TASKS, tiny_config


class KeepModel(Callback):
    name = "keep_model"

    def on_train_end(self, trainer) -> None:
        self.model = trainer.unwrapped_model
        self.state = trainer.final_state_dict()


@pytest.mark.numeric
def test_bundle_round_trip_predicts_same_actions(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset, max_steps=4, val_every=2, ema_decay=0.9, tracking="true")
    keep = KeepModel()
    out = train(cfg, tmp_path / "bundle", callbacks=[keep])

    bundle = load_bundle(out)
    # the weights are copied bit for bit (safetensors stores the float32 bytes): exact on every CPU
    reloaded = bundle.model.state_dict()
    assert not [k for k, v in keep.state.items() if not torch.equal(reloaded[k], v)]

    data = ChunkedDataset.from_config(cfg.data, split="val")
    batch = bundle.normalizer.normalize_batch(collate([data[i] for i in range(5)]))
    noise = torch.randn(5, HORIZON, 4, generator=torch.Generator().manual_seed(0))
    keep.model.load_state_dict(keep.state)  # what training ended with (EMA weights)
    keep.model.eval()
    got = bundle.model.predict(batch, noise=noise)
    assert got.shape == (5, HORIZON, 4)

    # Same weights, same input shapes, same process, so the same kernels: bit-exact on any CPU. A deep
    # copy starts with an empty frozen-feature cache, so it computes every feature as the reloaded model does.
    assert torch.equal(copy.deepcopy(keep.model).predict(batch, noise=noise), got)

    # The trained model itself serves frozen features cached during training, computed in batches of
    # another shape: on AVX-512 the conv/GEMM kernels block a batch of 8 differently from one of 5, which
    # changes the last bits (2.4e-7 seen; 0 on AVX2). float32 eps is 1.2e-7: rtol 1e-5 leaves ~80 ulps for
    # that rounding to grow through the head's layers and denoising steps, atol 1e-6 covers actions near 0.
    torch.testing.assert_close(keep.model.predict(batch, noise=noise), got, rtol=1e-5, atol=1e-6)

    norm = json.loads((out / "normalization.json").read_text())
    assert norm["robot"] == load_robot("metaworld_sawyer").to_dict()
    assert norm["normalizer"] == data.normalizer(dict(cfg.data.normalization)).to_dict()
    assert norm["cameras"] == ["corner"] and norm["image_shape"] == [3, IMAGE_SIZE, IMAGE_SIZE]
    assert (norm["action_horizon"], norm["obs_horizon"], norm["action_representation"]) == (HORIZON, 1, "absolute")

    meta = bundle.metadata
    assert meta["dataset"] == {"path": str(tiny_dataset), "md5": dataset_md5(tiny_dataset)}
    assert "code_commit" in meta and meta["created"]
    assert meta["train_metrics"]["steps"] == 4 and meta["train_metrics"]["val_loss"] > 0
    assert meta["env"] == {"name": "metaworld", "kwargs": {"image_size": IMAGE_SIZE}}
    assert meta["tasks"] == list(TASKS)


def test_mlflow_run_has_params_metrics_and_artifacts(tiny_dataset, tmp_path):
    from mlflow.tracking import MlflowClient

    cfg = tiny_config(tiny_dataset, max_steps=3, val_every=3, tracking="true")
    out = train(cfg, tmp_path / "bundle")
    meta = json.loads((out / "metadata.json").read_text())
    client = MlflowClient(tracking_uri=meta["mlflow"]["tracking_uri"])
    run = client.get_run(meta["mlflow"]["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["training.max_steps"] == "3"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2, 3]
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 1
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"loss_curve.png", "config.yaml"} <= artifacts
