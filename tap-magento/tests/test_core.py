"""singer-sdk's standard tap tests, run against a Magento emulator on 127.0.0.1.

The SDK builds the test class at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

from sandbox.magento import MagentoEmulator
from tap_magento.tap import TapMagento
from tapkit.testing import standard_tap_tests, stop_after_module

EMULATOR = MagentoEmulator(n_products=12, seed=42).start()

_stop_emulator = stop_after_module(EMULATOR)


TestTapMagento = standard_tap_tests(
    TapMagento,
    {"store_url": EMULATOR.url, "consumer_key": "demo-consumer-key",
     "consumer_secret": "demo-consumer-secret", "access_token": "demo-access-token",
     "access_token_secret": "demo-access-token-secret",
     "start_date": "2024-01-01T00:00:00Z"},
)
