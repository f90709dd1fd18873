"""singer-sdk's standard tap tests, run against a Magento emulator on 127.0.0.1.

The SDK builds the test class at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

import pytest
from sandbox.magento import MagentoEmulator
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_magento.tap import TapMagento

EMULATOR = MagentoEmulator(n_products=12, seed=42).start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()


TestTapMagento = get_tap_test_class(
    tap_class=TapMagento,
    config={"store_url": EMULATOR.url, "consumer_key": "demo-consumer-key",
            "consumer_secret": "demo-consumer-secret", "access_token": "demo-access-token",
            "access_token_secret": "demo-access-token-secret",
            "start_date": "2024-01-01T00:00:00Z"},
    suite_config=SuiteConfig(max_records_limit=500),
)
