"""The two singer-sdk lines the kit keeps out of every tap's log, pinned: if an SDK release
rewords them, these tests fail instead of the noise coming back silently."""

from __future__ import annotations

import contextlib
import io
import logging

import pytest
from singer_sdk import Stream
from singer_sdk.exceptions import FatalAPIError
from tapkit.logs import UNHANDLED, UNSORTED, UNSORTED_WARNINGS
from tapkit.streams import ContractStream
from tapkit.testing import run_tap

CONFIG = {"shop_url": "https://x.example", "products": [{"id": 1, "price": 5},
                                                        {"id": 2, "price": 6}]}


def test_the_sdk_s_unsorted_warning_is_dropped_and_still_worded_as_matched(demo, caplog):
    caplog.set_level(logging.INFO)
    run_tap(demo.TapDemo, CONFIG)
    assert UNSORTED not in caplog.text
    tap = demo.TapDemo(config=CONFIG)
    sdk = logging.getLogger("singer_sdk")
    sdk.removeFilter(UNSORTED_WARNINGS)
    try:
        caplog.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            tap.sync_all()
        assert UNSORTED in caplog.text  # the SDK still says it in the words the filter matches
    finally:
        sdk.addFilter(UNSORTED_WARNINGS)


def test_the_unhandled_error_line_is_dropped_only_for_explained_failures(demo, caplog):
    def failing(error):
        class Products(ContractStream, Stream):
            name = "products"

            def get_records(self, context):
                raise error
                yield  # pragma: no cover

        return type("Failing", (demo.TapDemo,), {
            "discover_streams": lambda self: [Products(self)]})

    caplog.set_level(logging.INFO)
    with pytest.raises(FatalAPIError):
        run_tap(failing(FatalAPIError("Shoper refused the credentials")), CONFIG)
    assert UNHANDLED not in caplog.text
    caplog.clear()
    with pytest.raises(ZeroDivisionError):
        run_tap(failing(ZeroDivisionError("a bug")), CONFIG)
    assert f"{UNHANDLED} 'products'" in caplog.text  # a real bug keeps the SDK's line
