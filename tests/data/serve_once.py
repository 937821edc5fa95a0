"""Load a packaged policy the way the BentoML service does and act once on a LeRobot-fixture frame.

BENTOML_HOME=... python tests/data/serve_once.py librobot-policy:<version>   # prints the chunk as JSON
"""

import json
import sys
from pathlib import Path

import bentoml

from librobot.inference.observation import ObservationSpec
from librobot.serving.served_policy import load_served_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "lerobot_written"))
from lerobot_values import frames, vectors  # noqa: E402

model = bentoml.models.get(sys.argv[1])
metadata = dict(model.info.metadata)
policy = load_served_policy(model.path, metadata, runtime="onnx")
spec = ObservationSpec.from_normalization(metadata)
state, _ = vectors(0, 1)
observation = {"images": {"image": frames(0, 0, 1)[0]}, "state": state[0], "instruction": "reach the red goal"}
assert list(spec.cameras) == ["image"], spec.cameras
print(json.dumps(policy.act(observation, seed=0).tolist()))
