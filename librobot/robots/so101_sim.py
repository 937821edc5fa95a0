"""The simulated SO-101 of ``lerobot-env-so101`` pick-place: Cartesian delta actions, not joint targets.

It differs from ``so100_arm`` (joint position targets in degrees): the sim's action is a delta of the
grasp point in units of ``action_scale`` metres plus an absolute jaw command, and its state adds the
end effector, block and goal positions.
"""

from librobot.registry import register_robot
from librobot.robots.spec import Camera, RobotSpec, features

_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")

SO101_SIM = register_robot("so101_sim", aliases=["so101_pick_place"])(
    RobotSpec(
        name="so101_sim",
        fps=10.0,  # control_dt 0.1 s
        description="SO-101 in MuJoCo (lerobot-env-so101): grasp-point delta (IK) + jaw command",
        # safe action: stop the grasp point (zero delta), keep the jaw as it was commanded
        action=features(
            ("dx", "action_scale m", -1.0, 1.0, 0.0),
            ("dy", "action_scale m", -1.0, 1.0, 0.0),
            ("dz", "action_scale m", -1.0, 1.0, 0.0),
            ("grasp", "0 closed .. 1 open", 0.0, 1.0, "last"),
        ),
        state=features(
            *[(f"{j}.pos", "rad", -3.2, 3.2) for j in _JOINTS],
            *[(f"{j}.vel", "rad/s", -20.0, 20.0) for j in _JOINTS],
            ("gripper", "-1 closed .. 1 open", -1.0, 1.0),
            *[(f"ee_{a}", "m", -1.0, 1.0) for a in "xyz"],
            *[(f"block_{a}", "m", -1.0, 1.0) for a in "xyz"],
            *[(f"goal_{a}", "m", -1.0, 1.0) for a in "xyz"],
        ),
        cameras=(Camera("front", 128, 128),),
    )
)
