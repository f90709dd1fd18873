"""``python -m tap_iai``."""

from tap_iai.tap import TapIAI

TapIAI.cli()
