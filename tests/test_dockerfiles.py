"""Every tap's Dockerfile is tap-shoper's with only the tap's name changed.

Each tap directory carries its own Dockerfile (a user builds one image with
`docker build -f tap-x/Dockerfile .`), so the files repeat one another by design. This test
keeps them one shape: a fix made in one (a base image, a pinned install, the non-root user)
that is not made in all fails here. A tap may add its own `ENV` lines (tap-feed's
archive default) and comments; nothing else may differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "tap-shoper"
TAPS = sorted(p.parent.name for p in ROOT.glob("tap-*/Dockerfile"))


def shape(tap: str) -> list[str]:
    """The Dockerfile's instructions, the tap's name replaced, comments and a tap's own
    extra ``ENV`` values left out."""
    platform = tap.removeprefix("tap-")
    text = (ROOT / tap / "Dockerfile").read_text(encoding="utf-8")
    text = text.replace(tap, "tap-X").replace(platform.upper(), "X").replace(platform, "x")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    own_env = re.compile(r"^\s+(TARGET_GATEWAY|TAP_X)_[A-Z_]+=\S+$")
    return [line.rstrip(" \\") for line in lines if not own_env.match(line)]


def test_every_tap_has_a_dockerfile():
    assert {p.name for p in ROOT.glob("tap-*") if p.is_dir()} == set(TAPS)


@pytest.mark.parametrize("tap", [t for t in TAPS if t != REFERENCE])
def test_the_dockerfile_has_the_shape_of_every_other(tap):
    assert shape(tap) == shape(REFERENCE)
