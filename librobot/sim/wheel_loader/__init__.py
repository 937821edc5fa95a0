"""Simulated wheel loader: load gravel from a pile into a truck (registered env ``wheel_loader``).

MuJoCo is imported inside ``WheelLoaderEnv.__init__``, so importing this package stays cheap.
"""

from librobot.registry import register_env
from librobot.sim.wheel_loader.env import INSTRUCTION, WheelLoaderEnv
from librobot.sim.wheel_loader.layout import TARGET_NAMES, Layout, sample_layout

register_env("wheel_loader", aliases=["loader"])(WheelLoaderEnv)

__all__ = ["INSTRUCTION", "TARGET_NAMES", "Layout", "WheelLoaderEnv", "sample_layout"]
