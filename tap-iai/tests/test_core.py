"""singer-sdk's standard tap tests against an IdoSell emulator on 127.0.0.1, for both sources.

The SDK builds the test classes at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)
from tap_iai.tap import TapIAI
from tapkit.testing import standard_tap_tests, stop_after_module

EMULATOR = IdoSellEmulator(n_products=12, seed=42).start()

_stop_emulator = stop_after_module(EMULATOR)


TestTapIAIAdminApi = standard_tap_tests(
    TapIAI,
    {"shop_url": EMULATOR.url, "api_key": DEMO_API_KEY,
     "start_date": "2024-01-01T00:00:00Z"},
)

TestTapIAIFeed = standard_tap_tests(
    TapIAI,
    {"shop_url": EMULATOR.url, "source": "iof", "allow_loopback_feed": True,
     "marketplace_login": DEMO_MARKETPLACE_LOGIN,
     "marketplace_password": DEMO_MARKETPLACE_PASSWORD},
)
