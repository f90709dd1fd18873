"""singer-sdk's standard tap tests, run against the feed emulator on 127.0.0.1 for each
format (Ceneo grouped by id, Google RSS and Atom by item_group_id).

The SDK builds the test classes at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

from sandbox.feeds import FeedEmulator
from tap_feed.tap import TapFeed
from tapkit.testing import standard_tap_tests, stop_after_module

EMULATOR = FeedEmulator(n_products=15, seed=42).start()
BASE = {"default_vat_rate": 23, "allow_loopback_feed": True}

_stop_emulator = stop_after_module(EMULATOR)


TestTapFeedCeneo = standard_tap_tests(
    TapFeed,
    {**BASE, "feed_url": f"{EMULATOR.url}/feeds/ceneo.xml",
     "variant_grouping": r"id_prefix:^(?P<product>\d+)_(?P<variant>\d+)$"},
)

TestTapFeedGoogleRss = standard_tap_tests(
    TapFeed,
    {**BASE, "feed_url": f"{EMULATOR.url}/feeds/google.xml"},
)

TestTapFeedGoogleAtom = standard_tap_tests(
    TapFeed,
    {**BASE, "feed_url": f"{EMULATOR.url}/feeds/google.atom"},
)
