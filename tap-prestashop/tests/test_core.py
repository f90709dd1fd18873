"""singer-sdk's standard tap tests, run against a PrestaShop emulator on 127.0.0.1.

The SDK builds the test class at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator
from tap_prestashop.tap import TapPrestaShop
from tapkit.testing import standard_tap_tests, stop_after_module

EMULATOR = PrestaShopEmulator(n_products=15, seed=42).start()

_stop_emulator = stop_after_module(EMULATOR)


TestTapPrestaShop = standard_tap_tests(
    TapPrestaShop,
    {"shop_url": EMULATOR.url, "api_key": DEMO_API_KEY,
     "start_date": "2024-01-01T00:00:00Z"},
)
