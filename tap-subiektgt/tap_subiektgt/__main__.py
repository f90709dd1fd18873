"""``python -m tap_subiektgt``."""

from tap_subiektgt.tap import TapSubiektGT

TapSubiektGT.cli()
