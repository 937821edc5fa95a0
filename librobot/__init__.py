"""LibroBot: train, evaluate, export and serve vision-language-action robot policies."""

from librobot.telemetry import disable_telemetry

disable_telemetry()

__version__ = "0.1.0"
