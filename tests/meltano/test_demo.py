"""`make demo` as the README promises it: the first run imports the demo shop, the second
run (from the first run's state, nothing changed in the shop) writes nothing.

Slow (the demo shop is paced under Shoper's rate limit of 2 calls a second), so it runs with
`make meltano-test` in CI rather than in `make test`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.meltano


def test_make_demo_imports_the_shop_then_writes_nothing_on_the_second_run():
    result = subprocess.run(["make", "demo"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    first, second = out.split("Second run, from the first run's state", 1)
    assert re.search(r"Gateway products: created 214, updated 0", first), first
    assert "Gateway now holds 214 products (one per variant), 34 variant tags, 190 copied " \
           "images." in first
    assert "source categories still to be mapped: 44" in first
    assert re.search(r"Gateway products: created 0, updated 0", second), second
    assert "Second run: 0 write requests reached the Gateway" in second
