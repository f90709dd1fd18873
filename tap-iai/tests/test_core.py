"""singer-sdk's standard tap tests against an IdoSell emulator on 127.0.0.1, for both sources.

The SDK builds the test classes at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

import pytest
from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_iai.tap import TapIAI

EMULATOR = IdoSellEmulator(n_products=12, seed=42).start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator():
    yield
    EMULATOR.stop()


TestTapIAIAdminApi = get_tap_test_class(
    tap_class=TapIAI,
    config={"shop_url": EMULATOR.url, "api_key": DEMO_API_KEY,
            "start_date": "2024-01-01T00:00:00Z"},
    suite_config=SuiteConfig(max_records_limit=500),
)

TestTapIAIFeed = get_tap_test_class(
    tap_class=TapIAI,
    config={"shop_url": EMULATOR.url, "source": "iof",
            "marketplace_login": DEMO_MARKETPLACE_LOGIN,
            "marketplace_password": DEMO_MARKETPLACE_PASSWORD},
    suite_config=SuiteConfig(max_records_limit=500),
)
