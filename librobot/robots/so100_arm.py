"""SO-100 / SO-101 6-DoF arm as LeRobot records it: joint targets in degrees, gripper in percent."""

from librobot.registry import register_robot
from librobot.robots.spec import Camera, RobotSpec, features

_JOINTS = (
    ("shoulder_pan", -110.0, 110.0),
    ("shoulder_lift", -100.0, 100.0),
    ("elbow_flex", -100.0, 100.0),
    ("wrist_flex", -100.0, 100.0),
    ("wrist_roll", -160.0, 160.0),
)

SO100_ARM = register_robot("so100_arm", aliases=["so100", "so101_arm"])(
    RobotSpec(
        name="so100_arm",
        fps=30.0,
        description="SO-100/101 arm: 5 revolute joints + gripper, position targets",
        # safe action: hold the current pose (every action is a joint target with a state of the same name)
        action=features(
            *[(f"{j}.pos", "deg", lo, hi, "hold") for j, lo, hi in _JOINTS], ("gripper.pos", "%", 0.0, 100.0, "hold")
        ),
        state=features(
            *[(f"{j}.pos", "deg", lo, hi) for j, lo, hi in _JOINTS],
            ("gripper.pos", "%", 0.0, 100.0),
            *[(f"{j}.vel", "deg/s", -360.0, 360.0) for j, _, _ in _JOINTS],
            ("gripper.vel", "%/s", -400.0, 400.0),
        ),
        cameras=(Camera("front", 128, 128), Camera("wrist", 128, 128)),
    )
)
