"""The default wheel-loader dataset is versioned with DVC beside data/default: `dvc pull` restores it."""

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_data_dvc_tracks_the_wheel_loader_dataset_and_the_remote_holds_every_file():
    out = yaml.safe_load((REPO / "data.dvc").read_text())["outs"][0]
    assert out["path"] == "data"
    storage = REPO / "dvc-storage" / "files" / "md5"
    manifest_md5 = out["md5"].removesuffix(".dir")
    manifest = json.loads((storage / manifest_md5[:2] / (manifest_md5[2:] + ".dir")).read_text())
    files = {entry["relpath"]: entry["md5"] for entry in manifest}
    for needed in ("wheel_loader/meta/info.json", "default/meta/info.json"):
        assert needed in files, f"data.dvc does not track data/{needed}"
    wl = [rel for rel in files if rel.startswith("wheel_loader/")]
    assert any(rel.startswith("wheel_loader/videos/observation.images.cab/") for rel in wl)
    assert any(rel.startswith("wheel_loader/videos/observation.images.overview/") for rel in wl)
    missing = [rel for rel, md5 in files.items() if not (storage / md5[:2] / md5[2:]).is_file()]
    assert not missing, f"dvc-storage lacks {missing}: run `dvc push`"
