import subprocess

import pytest

from tests.helpers.serving import BIN, REPO


@pytest.mark.slow
def test_bentoml_build_packs_the_service_with_the_packaged_model(packaged, bentoml_env):
    out = subprocess.run(
        [str(BIN / "bentoml"), "build", "-f", "bentofile.yaml", "--output", "tag", "."],
        env={**bentoml_env, "LIBROBOT_MODEL_TAG": packaged},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    tag = out.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    info = subprocess.run(
        [str(BIN / "bentoml"), "get", tag, "-o", "json"], env=bentoml_env, capture_output=True, text=True, timeout=120
    )
    assert info.returncode == 0, info.stderr[-2000:]
    assert packaged in info.stdout  # the bento records the policy model it serves
