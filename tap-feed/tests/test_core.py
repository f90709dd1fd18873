"""singer-sdk's standard tap tests, run against the feed emulator on 127.0.0.1 for each
format (Ceneo grouped by id, Google RSS and Atom by item_group_id).

The SDK builds the test classes at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

import pytest
from sandbox.feeds import FeedEmulator
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_feed.tap import TapFeed

EMULATOR = FeedEmulator(n_products=15, seed=42).start()
BASE = {"default_vat_rate": 23, "allow_loopback_feed": True}


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()


TestTapFeedCeneo = get_tap_test_class(
    tap_class=TapFeed,
    config={**BASE, "feed_url": f"{EMULATOR.url}/feeds/ceneo.xml",
            "variant_grouping": r"id_prefix:^(?P<product>\d+)_(?P<variant>\d+)$"},
    suite_config=SuiteConfig(max_records_limit=500),
)

TestTapFeedGoogleRss = get_tap_test_class(
    tap_class=TapFeed,
    config={**BASE, "feed_url": f"{EMULATOR.url}/feeds/google.xml"},
    suite_config=SuiteConfig(max_records_limit=500),
)

TestTapFeedGoogleAtom = get_tap_test_class(
    tap_class=TapFeed,
    config={**BASE, "feed_url": f"{EMULATOR.url}/feeds/google.atom"},
    suite_config=SuiteConfig(max_records_limit=500),
)
