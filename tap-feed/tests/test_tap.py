"""The command line a user meets: config mistakes all named at once, clear failures without a
traceback, and memory that stays flat however big the feed."""

from __future__ import annotations

import io
import sys
import tracemalloc
from pathlib import Path

import pytest
from tap_feed import parse
from tapkit.testing import run_tap

TAP = [str(Path(sys.executable).parent / "tap-feed")]


def test_every_config_problem_is_named_at_once(tmp_path):
    run = run_tap(TAP, {"feed_url": "ftp://sklep.pl/feed.xml", "shrink_guard_pct": 120,
                        "username": "sklep", "variant_grouping": "by-name",
                        "vat_rules": [{"brand": "X", "rate": 6}],
                        "encoding_override": "polish", "currency": "złoty"})
    assert run.code == 2, run.stderr
    for words in ("default_vat_rate is missing",
                  "shrink_guard_pct 120 is above the feed's maximum of 100",
                  "feed_url must be an http(s) URL or a path to a file",
                  "username and password must be given together",
                  "rate must be one of 23, 8, 5, 0",
                  "variant_grouping 'by-name' is not one of auto, none, item_group_id",
                  "encoding_override 'polish' is not an encoding",
                  "currency 'złoty' is not a three-letter ISO code",
                  "8 problems in the configuration; nothing was run"):
        assert words in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert "ftp://sklep.pl" not in run.stderr  # the feed URL is a secret


def test_an_unreadable_feed_is_one_clear_line_and_exit_1(tmp_path):
    page = tmp_path / "feed.xml"
    page.write_text("<!DOCTYPE html><html><body><h1>Przerwa techniczna</h1></body></html>")
    run = run_tap(TAP, {"feed_url": str(page), "default_vat_rate": 23})
    assert run.code == 1
    assert "answered an HTML page (a login or maintenance page?)" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.messages == [] or all(m["type"] != "RECORD" for m in run.messages)


def write_feed(path: Path, items: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<offers version="1"><group>\n')
        for i in range(items):
            out.write(f'<o id="{i}" url="https://sklep.pl/{i}" price="{i % 500 + 1}.99" '
                      f'avail="1" stock="{i % 7}"><cat><![CDATA[Dom/Kuchnia]]></cat>'
                      f"<name><![CDATA[Garnek żeliwny {i}]]></name>"
                      f"<desc><![CDATA[<p>{'Opis zażółć gęślą jaźń. ' * 20}</p>]]></desc>"
                      '<attrs><a name="Producent">Zelmer</a></attrs></o>\n')
        out.write("</group></offers>\n")
    return path


def peak_while_parsing(path: Path) -> int:
    tracemalloc.start()
    try:
        with parse.open_feed(path, max_bytes=1 << 30) as stream:
            count = sum(1 for _ in parse.iter_items(stream))
        return tracemalloc.get_traced_memory()[1] if count else 0
    finally:
        tracemalloc.stop()


def test_parsing_memory_stays_flat_from_500_to_8000_items(tmp_path):
    small = peak_while_parsing(write_feed(tmp_path / "small.xml", 500))
    big = peak_while_parsing(write_feed(tmp_path / "big.xml", 8_000))
    assert (tmp_path / "big.xml").stat().st_size > 4 * 1024 * 1024
    assert big < small * 1.5, (small, big)  # a feed 16x bigger, not 16x the memory


def test_the_decompressed_size_is_capped_too(tmp_path):
    import gzip

    bomb = tmp_path / "bomb.xml.gz"
    bomb.write_bytes(gzip.compress(b'<offers>' + b" " * 5_000_000 + b"</offers>"))
    with pytest.raises(parse.FeedError, match="larger than max_bytes"), \
            parse.open_feed(bomb, max_bytes=1_000_000) as stream:
        list(parse.iter_items(stream))
    assert bomb.stat().st_size < 100_000


def test_recoding_rewrites_the_declaration():
    raw = '<?xml version="1.0" encoding="UTF-8"?><offers><o id="1"><name>Żółw</name></o></offers>'
    stream = io.BufferedReader(parse.RecodingReader(io.BytesIO(raw.encode("cp1250")),
                                                    "windows-1250"))
    [item] = parse.iter_items(stream)
    assert item.raw["name"] == "Żółw"
