"""singer-sdk's standard tap tests, run against a generated Subiekt GT test database.

The SDK builds the test class at import time from a config, so the database file is written
at import, into a temporary folder removed when the module's tests are done.
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from sandbox.subiektgt import create
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_subiektgt.tap import TapSubiektGT

FOLDER = Path(tempfile.mkdtemp(prefix="subiekt-core-"))
DATABASE = FOLDER / "subiekt.sqlite"
create(DATABASE, n_products=15, seed=42)


@pytest.fixture(scope="module", autouse=True)
def _remove_database():
    yield
    shutil.rmtree(FOLDER, ignore_errors=True)


TestTapSubiektGT = get_tap_test_class(
    tap_class=TapSubiektGT,
    config={"sqlalchemy_url": f"sqlite:///{DATABASE}"},
    suite_config=SuiteConfig(max_records_limit=500),
)
