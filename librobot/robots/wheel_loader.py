"""A ~12 t articulated wheel loader (the simulated one in ``librobot.sim.wheel_loader``)."""

import math

from librobot.registry import register_robot
from librobot.robots.spec import Camera, RobotSpec, features

WHEEL_LOADER = register_robot("wheel_loader", aliases=["loader"])(
    RobotSpec(
        name="wheel_loader",
        fps=10.0,
        description="articulated wheel loader: rate-controlled hydraulics, governed engine, 4 driven wheels",
        # safe action (no action due in time): no throttle, full brake, neutral, hydraulics stopped
        action=features(
            ("throttle", "fraction", 0.0, 1.0, 0.0),
            ("steering", "fraction of max articulation rate", -1.0, 1.0, 0.0),
            ("boom", "fraction of max boom rate", -1.0, 1.0, 0.0),
            ("bucket", "fraction of max bucket rate", -1.0, 1.0, 0.0),
            ("brake", "fraction", 0.0, 1.0, 1.0),
            ("gear", "-1 reverse / 0 neutral / +1 forward", -1.0, 1.0, 0.0),
        ),
        state=features(
            ("x", "m", -50.0, 50.0),
            ("y", "m", -50.0, 50.0),
            ("z", "m", -5.0, 10.0),
            ("roll", "rad", -math.pi / 2, math.pi / 2),
            ("pitch", "rad", -math.pi / 2, math.pi / 2),
            ("yaw", "rad", -math.pi, math.pi),
            ("vx", "m/s", -10.0, 10.0),
            ("vy", "m/s", -10.0, 10.0),
            ("vz", "m/s", -10.0, 10.0),
            ("wx", "rad/s", -5.0, 5.0),
            ("wy", "rad/s", -5.0, 5.0),
            ("wz", "rad/s", -5.0, 5.0),
            ("artic_angle", "rad", -0.70, 0.70),
            ("boom_angle", "rad", -0.52, 0.87),
            ("bucket_angle", "rad", -1.70, 1.30),
            ("artic_rate", "rad/s", -1.0, 1.0),
            ("boom_rate", "rad/s", -1.0, 1.0),
            ("bucket_rate", "rad/s", -2.0, 2.0),
            ("engine_rpm", "rpm", 600.0, 2400.0),
            ("engine_torque", "N*m", 0.0, 900.0),
            ("payload_mass", "kg", 0.0, 3200.0),
            ("wheel_speed", "rad/s", -6.0, 6.0),
        ),
        cameras=(Camera("cab", 96, 96), Camera("overview", 96, 96)),
    )
)
