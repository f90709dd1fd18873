"""``python -m tap_feed``."""

from tap_feed.tap import TapFeed

TapFeed.cli()
