"""Records one stream produces for a later stream, kept on disk instead of in memory.

When the rows a later stream needs are already read by an earlier one (tap-shoper's products
stream reads every variant's stock row to build the products; the stock stream would read
them all again), the earlier stream writes the later stream's records here and the later
one replays them: the platform is asked once, and memory stays one page whatever the size of
the shop. The file is anonymous (deleted from the directory as soon as it is created), so
nothing is left behind even if the process is killed; stock rows carry no secret.

A spool is only replayed when it is :attr:`RecordSpool.complete`: the producing stream must
have read everything the later stream would have (a full sweep, not an incremental one);
otherwise the later stream reads the platform itself as usual.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from commerce_schema import jsonio


class RecordSpool:
    """Append records, mark complete, replay once in the same order."""

    def __init__(self, what: str = "records") -> None:
        self.what = what
        self.count = 0
        self.complete = False
        self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8",  # noqa: SIM115 - closed by drain/discard
                                            errors="surrogatepass", prefix="tapkit-spool-")

    def add(self, record: dict[str, Any]) -> None:
        """Keep one record (Decimals exact)."""
        self._file.write(jsonio.dumps(record) + "\n")
        self.count += 1

    def finish(self) -> None:
        """The producer read everything: the spool may replace the later stream's reads."""
        self._file.flush()
        self.complete = True

    def drain(self) -> Iterator[dict[str, Any]]:
        """Every record, in the order added (numbers with a fraction as Decimal); the spool
        is closed afterwards."""
        try:
            self._file.seek(0)
            for line in self._file:
                if line.strip():
                    yield jsonio.loads(line)
        finally:
            self.discard()

    def discard(self) -> None:
        """Drop the records (the file was never linked; closing frees it)."""
        self.complete = False
        self._file.close()
