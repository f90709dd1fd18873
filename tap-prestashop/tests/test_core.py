"""singer-sdk's standard tap tests, run against a PrestaShop emulator on 127.0.0.1.

The SDK builds the test class at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

import pytest
from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_prestashop.tap import TapPrestaShop

EMULATOR = PrestaShopEmulator(n_products=15, seed=42).start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()


TestTapPrestaShop = get_tap_test_class(
    tap_class=TapPrestaShop,
    config={"shop_url": EMULATOR.url, "api_key": DEMO_API_KEY,
            "start_date": "2024-01-01T00:00:00Z"},
    suite_config=SuiteConfig(max_records_limit=500),
)
