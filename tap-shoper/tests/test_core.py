"""singer-sdk's standard tap tests, run against a Shoper emulator on 127.0.0.1.

The SDK builds the test class at import time from a config, so the emulator is started at
import and stopped when the module's tests are done.
"""

from sandbox.shoper import ShoperEmulator
from tap_shoper.tap import TapShoper
from tapkit.testing import standard_tap_tests, stop_after_module

EMULATOR = ShoperEmulator(n_products=15, seed=42).start()

_stop_emulator = stop_after_module(EMULATOR)


TestTapShoper = standard_tap_tests(
    TapShoper,
    {"shop_url": EMULATOR.url, "username": "demo", "password": "demo-password",
     "start_date": "2024-01-01T00:00:00Z"},
)
