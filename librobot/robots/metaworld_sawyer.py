"""MetaWorld's Sawyer: 4-D end-effector delta action, 39-D observation (MetaWorld v3 layout)."""

from librobot.registry import register_robot
from librobot.robots.spec import Camera, Feature, RobotSpec, features


def _frame(prefix: str) -> list[Feature]:
    """One 18-D frame: hand xyz, gripper opening, object 1 pose, object 2 pose."""
    out = [Feature(f"{prefix}hand_{a}", "m", -1.0, 1.5) for a in "xyz"]
    out.append(Feature(f"{prefix}gripper_distance", "fraction", -1.0, 1.0))
    for obj in ("obj1", "obj2"):
        out += [Feature(f"{prefix}{obj}_{a}", "m", -2.0, 2.0) for a in "xyz"]
        out += [Feature(f"{prefix}{obj}_q{a}", "", -1.0, 1.0) for a in "wxyz"]
    return out


METAWORLD_SAWYER = register_robot("metaworld_sawyer", aliases=["sawyer", "metaworld"])(
    RobotSpec(
        name="metaworld_sawyer",
        fps=80.0,  # MetaWorld steps the simulation at 80 Hz (frame_skip 5 of 0.0025 s)
        description="Sawyer in MetaWorld v3: delta end-effector position + gripper effort",
        # safe action: stop the hand (zero delta), keep the gripper's effort (do not drop what it holds)
        action=features(
            ("dx", "normalized delta", -1.0, 1.0, 0.0),
            ("dy", "normalized delta", -1.0, 1.0, 0.0),
            ("dz", "normalized delta", -1.0, 1.0, 0.0),
            ("gripper", "effort", -1.0, 1.0, "last"),
        ),
        state=tuple(_frame("") + _frame("prev_") + [Feature(f"goal_{a}", "m", -2.0, 2.0) for a in "xyz"]),
        cameras=(Camera("corner", 128, 128),),
    )
)
