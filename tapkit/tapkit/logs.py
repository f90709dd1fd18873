"""Two singer-sdk log lines that mislead an operator, kept out of every kit tap's log.

- ``An unhandled error occurred while syncing 'categories'`` (ERROR, from ``Stream.sync``,
  which is final): printed before every failure, also before a refused password or a wrong
  shop URL that the kit then explains in one line. For those known failures (what
  ``ContractTap.cli`` turns into one ERROR line and an exit code) it only says "bug" where
  there is none, so it is dropped; for anything else (a real bug, with its traceback) it
  stays.
- ``Stream is assumed to be unsorted, progress is not resumable if interrupted`` (WARNING,
  logger ``singer_sdk``): printed on every run of every stream whose rows are not sorted by
  the replication key (most shop APIs page by id). Nothing for an operator to do, and the
  bookmark is still only moved at the end of the stream; so it is dropped.

The SDK offers no switch for either; a ``logging.Filter`` on the loggers that emit them is
the public way (logging configuration). ``tapkit/tests/test_tap.py`` pins both messages, so
an SDK release that rewords them fails a test instead of bringing the noise back.
"""

from __future__ import annotations

import logging
import sys

import requests
from singer_sdk.exceptions import ConfigurationError, FatalAPIError, RetriableAPIError

UNHANDLED = "An unhandled error occurred while syncing"
UNSORTED = "Stream is assumed to be unsorted"
#: failures the kit explains itself in one line (see ``tapkit.tap``)
EXPLAINED = (FatalAPIError, RetriableAPIError, ConfigurationError, requests.RequestException)


class ExplainedErrorFilter(logging.Filter):
    """Drops the SDK's "unhandled error" line while an explained failure is propagating (the
    line is logged inside the SDK's ``except`` block, so the exception is at hand)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the "unhandled error" line of a failure the kit explains."""
        if not str(record.msg).startswith(UNHANDLED):
            return True
        return not isinstance(sys.exc_info()[1], EXPLAINED)


class UnsortedWarningFilter(logging.Filter):
    """Drops the SDK's "assumed to be unsorted" warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for that warning."""
        return not str(record.msg).startswith(UNSORTED)


EXPLAINED_ERRORS = ExplainedErrorFilter()
UNSORTED_WARNINGS = UnsortedWarningFilter()


def quiet_stream(logger: logging.Logger) -> None:
    """Install the "unhandled error" filter on one stream's logger (idempotent)."""
    if EXPLAINED_ERRORS not in logger.filters:
        logger.addFilter(EXPLAINED_ERRORS)


def quiet_sdk() -> None:
    """Install the "unsorted" filter on the SDK's logger (idempotent)."""
    sdk = logging.getLogger("singer_sdk")
    if UNSORTED_WARNINGS not in sdk.filters:
        sdk.addFilter(UNSORTED_WARNINGS)
