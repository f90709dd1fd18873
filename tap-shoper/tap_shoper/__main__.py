"""``python -m tap_shoper``."""

from tap_shoper.tap import TapShoper

TapShoper.cli()
