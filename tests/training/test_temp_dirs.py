"""Contract: a run or write killed with SIGKILL leaves its temporary directories beside its output (never in
/tmp), and the next run removes them; checkpoints and bundles stay write-temp-then-rename atomic."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from librobot.checkpoint import atomic_dir, recover_atomic_dir
from librobot.training.checkpointing import list_checkpoints
from librobot.training.run import train
from tests.helpers.tiny_run import tiny_config


def test_a_write_killed_by_sigkill_leaves_its_temp_dir_beside_the_target_and_the_next_write_removes_it(tmp_path):
    target = tmp_path / "out" / "step_00000003"
    script = textwrap.dedent(
        f"""
        import os, signal
        from librobot.checkpoint import atomic_dir
        with atomic_dir({str(target)!r}) as tmp:
            (tmp / "model.safetensors").write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9
    leftovers = [p.name for p in target.parent.iterdir()]
    assert not target.exists() and len(leftovers) == 1 and leftovers[0].startswith(".step_00000003.tmp-")

    with atomic_dir(target) as tmp:
        (tmp / "model.safetensors").write_bytes(b"whole")
    assert [p.name for p in target.parent.iterdir()] == ["step_00000003"]
    assert (target / "model.safetensors").read_bytes() == b"whole"


def test_a_bundle_complete_but_not_renamed_is_swapped_in_with_the_training_state(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "train").mkdir(parents=True)
    (bundle / "train" / "state").write_text("run")
    (bundle / "model.safetensors").write_text("old")
    new = tmp_path / ".bundle.new"  # killed after the new bundle was complete, before the renames
    new.mkdir()
    (new / "model.safetensors").write_text("new")
    recover_atomic_dir(bundle, keep=("train",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    assert (bundle / "model.safetensors").read_text() == "new" and (bundle / "train" / "state").read_text() == "run"


def test_a_new_run_cleans_what_a_killed_run_left(tiny_dataset, tmp_path):
    out = tmp_path / "bundle"
    checkpoints = out / "train" / "checkpoints"
    stale_checkpoint = checkpoints / ".step_00000003.tmp-k1ll3d"  # killed while writing its first checkpoint
    stale_bundle = tmp_path / ".bundle.tmp-k1ll3d"  # killed while writing the bundle
    for stale in (stale_checkpoint, stale_bundle):
        stale.mkdir(parents=True)
        (stale / "model.safetensors").write_bytes(b"half")

    cfg = tiny_config(tiny_dataset, max_steps=1, checkpoint_every=1, val_every=0)
    train(cfg, out)  # not refused as "already holds checkpoints": the half checkpoint is no checkpoint

    assert not stale_checkpoint.exists() and not stale_bundle.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    assert (
        [p.name for p in checkpoints.iterdir()]
        == ["step_00000001"]
        == [p.name for p in list_checkpoints(out / "train")]
    )
