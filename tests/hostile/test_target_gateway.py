"""Hostile and broken input to the ``target-gateway`` process: Singer streams that are not,
records that break the contract, hostile names, image URLs that point inward or never end,
and category mapping files as spreadsheets save them.

Each case asserts the exit code, the message naming the line, record, field or URL, what
landed (or did not) in the Gateway emulator, and no traceback in place of an explanation.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest
from sandbox.gateway import GatewayEmulator, category_guid

STATE = {"bookmarks": {"products": {"replication_key": "updated_at",
                                    "replication_key_value": "2024-01-03T08:00:00+00:00"}}}
CAP = 20 * 1024 * 1024
LONG_NAME = "Świeca " + "ą" * 9_993  # 10,000 characters
TRICKY_NAME = "Mydło\u200b \u202egnihtemos\u202c \u05e1\u05d1\u05d5\u05df \u200fزيت\ufeff"


def assert_stopped(run, message: str) -> None:
    """Exit 1, the message in the summary's "stopped:" line, nothing landed, no STATE."""
    assert run.code == 1, run.err[-3000:]
    assert message in run.err, run.err[-3000:]
    summary = run.err[run.err.index("target-gateway: failed"):]
    assert re.search(r"\n  stopped: .*" + re.escape(message), summary, re.DOTALL), summary
    assert "Traceback" not in run.err
    assert run.out == ""
    assert run.products == []
    assert run.report["status"] == "failed"


# -- Singer streams that are not -----------------------------------------------------------
def test_a_line_that_is_not_json_stops_the_run_naming_the_line(hostile, gateway, tmp_path):
    text = hostile.singer(("products", hostile.product("1")),
                          ("RAW", '{"type": "RECORD", "stream": "products", "record": {"id": '),
                          ("products", hostile.product("2")), ("STATE", STATE))
    run = hostile.run_target(tmp_path, "not-json", text, gateway)
    assert_stopped(run, "invalid Singer input: input line 3 is not valid JSON")
    assert run.report["error"].startswith("invalid Singer input: input line 3")


def test_a_stream_cut_off_mid_line_writes_nothing_and_prints_no_state(hostile, gateway,
                                                                     tmp_path):
    text = hostile.singer(("products", hostile.product("1")), ("STATE", STATE),
                          ("products", hostile.product("2")))
    cut = text[: len(text) - 40]  # the tap died while writing its last record
    run = hostile.run_target(tmp_path, "cut", cut, gateway)
    assert_stopped(run, "invalid Singer input: input line 4 is not valid JSON")


def test_a_record_before_its_schema_is_refused_clearly(hostile, gateway, tmp_path):
    text = hostile.singer(("products", hostile.product("1")))
    schema, record = text.splitlines()
    run = hostile.run_target(tmp_path, "no-schema", f"{record}\n{schema}\n{record}\n", gateway)
    assert_stopped(run, "input line 1: A record for stream 'products' was encountered before "
                        "a corresponding schema")


def test_json_that_is_not_a_singer_message_is_refused_clearly(hostile, gateway, tmp_path):
    text = hostile.singer(("products", hostile.product("1")), ("RAW", "[1, 2, 3]"))
    run = hostile.run_target(tmp_path, "not-message", text, gateway)
    assert_stopped(run, "input line 3 is not a Singer message (a JSON object with a type)")


def test_blank_lines_between_messages_are_harmless(hostile, gateway, tmp_path):
    text = hostile.singer(("products", hostile.product("1")), ("products",
                                                               hostile.product("2")))
    run = hostile.run_target(tmp_path, "blank", "\n" + text.replace("\n", "\n\n"), gateway)
    assert run.code == 0, run.err[-3000:]
    assert set(run.by_id) == {"1", "2"}


# -- records that break the contract, and hostile names ------------------------------------
def _broken_records(product):
    records = {}
    for rid, value in (("p-empty", ""), ("p-abc", "abc"), ("p-neg", Decimal("-5.00")),
                       ("p-huge", Decimal("1E+309"))):
        record = product(rid)
        record["variants"][0]["price_net"] = value
        records[rid] = record
    records["p-neg"]["variants"][0]["price_gross"] = Decimal("-6.15")
    shapeless = product("p-shape")
    del shapeless["name"]
    shapeless["variants"] = "none"
    records["p-shape"] = shapeless
    records["p-long"] = product("p-long", LONG_NAME)
    records["p-tricky"] = product("p-tricky", TRICKY_NAME,
                                  short_description_html=f"<p>{TRICKY_NAME}</p>")
    records["p-ok"] = product("p-ok")
    return records


@pytest.fixture(scope="module")
def records_run(hostile, tmp_path_factory):
    records = _broken_records(hostile.product)
    stock = {"product_id": "p-ok", "variant_id": "p-ok", "sku": None, "ean": None,
             "quantity": Decimal("1E+5000"), "updated_at": None}
    text = hostile.singer(*[("products", r) for r in records.values()], ("stock", stock),
                          ("STATE", STATE))
    with GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway:
        run = hostile.run_target(tmp_path_factory.mktemp("records"), "records", text, gateway)
    skipped = {s["id"]: s["reason"] for s in run.report["skipped"]}
    return run, skipped


@pytest.mark.parametrize(("rid", "reason"), [
    ("p-empty", "variants[0].price_net: '' is not of type 'number'"),
    ("p-abc", "variants[0].price_net: 'abc' is not of type 'number'"),
    ("p-neg", "variants[0].price_net: -5.00 is negative (+1 more)"),
    ("p-huge", "variants[0].price_net: 1E+309 is out of range"),
    ("p-shape", "name: 'name' is a required property (+1 more)"),
])
def test_a_record_breaking_the_contract_is_skipped_by_id_and_field(records_run, rid, reason):
    run, skipped = records_run
    assert run.code == 3, run.err[-3000:]  # partial: the rest was written
    assert skipped[f"products:{rid}"] == f"breaks the record contract: {reason}"
    assert rid not in run.by_id
    assert "Traceback" not in run.err
    assert f"products record {rid}: " in run.err  # the warning names the record


def test_an_absurd_stock_quantity_is_skipped_not_sent(records_run):
    run, skipped = records_run
    assert skipped["stock:p-ok"] == ("breaks the record contract: quantity: 1E+5000 is out "
                                     "of range")
    assert run.by_id["p-ok"]["stock_level"] == 5  # the product's own, untouched


def test_contract_breaks_do_not_hold_the_state_back(records_run):
    run, _ = records_run
    assert run.out.strip().splitlines()[-1] == '{"bookmarks": {"products": {"replication_key": ' \
        '"updated_at", "replication_key_value": "2024-01-03T08:00:00+00:00"}}}'
    assert run.report["failed"] == []


def test_a_10000_character_name_lands_whole(records_run):
    run, _ = records_run
    assert run.by_id["p-long"]["name"] == LONG_NAME


def test_zero_width_and_rtl_characters_land_exactly(records_run):
    run, _ = records_run
    landed = run.by_id["p-tricky"]
    assert landed["name"] == TRICKY_NAME
    assert landed["brief"] == TRICKY_NAME.strip()  # plain text of the short description


# -- image URLs ----------------------------------------------------------------------------
def _with_image(product, rid: str, url: str, public: bool = True):
    return product(rid, images=[{"url": url, "position": 1, "public": public}])


@pytest.fixture(scope="module")
def inward_images(hostile, tmp_path_factory):
    """Image URLs pointing inward, default settings (private hosts not allowed, copy mode)."""
    with hostile.RawServer(hostile.ImageHost) as host, \
            GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway:
        product = hostile.product
        records = [
            _with_image(product, "img-loopback", f"{host.url}/ok.png"),
            _with_image(product, "img-metadata",
                        "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
            _with_image(product, "img-loopback-upload",
                        host.url.replace("127.0.0.1", "localhost") + "/ok.png", public=False),
            _with_image(product, "img-file", "file:///etc/passwd"),
            product("img-none"),
        ]
        run = hostile.run_target(tmp_path_factory.mktemp("inward"), "inward",
                                 hostile.singer(*[("products", r) for r in records],
                                                ("STATE", STATE)), gateway)
        downloads = list(gateway.downloads)
        hits = list(host.hits)
    return run, {f["id"]: f["reason"] for f in run.report["failed"]}, downloads, hits


@pytest.mark.parametrize(("rid", "reason"), [
    ("img-loopback", r"image host 127\.0\.0\.1 is a private, loopback or link-local address"),
    ("img-metadata", r"image host 169\.254\.169\.254 is a private, loopback or link-local "
                     r"address"),
    ("img-loopback-upload", r"image host localhost resolves to a private, loopback or "
                            r"link-local address"),
    ("img-file", r"unsupported image URL file:///etc/passwd \(http\(s\) or data: only\)"),
])
def test_an_image_url_pointing_inward_is_refused_and_never_fetched(inward_images, rid, reason):
    run, failed, downloads, hits = inward_images
    assert run.code == 3, run.err[-3000:]
    assert re.match(r"create failed \(image\): " + reason, failed[rid]), failed[rid]
    assert "set allow_private_image_hosts" in failed[rid] or rid == "img-file"
    assert rid not in run.by_id
    assert downloads == []  # nothing handed to the Gateway to fetch
    assert hits == []  # and nothing fetched here
    assert "img-none" in run.by_id  # the rest is written
    assert run.out == ""  # a failed write withholds STATE: the next run retries


@pytest.fixture(scope="module")
def oversized_images(hostile, tmp_path_factory):
    """Downloads the target itself makes (non-public images), from a local host allowed."""
    with hostile.RawServer(hostile.ImageHost) as host, \
            GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway:
        product = hostile.product
        records = [_with_image(product, f"img-{name}", f"{host.url}/{name}.png", public=False)
                   for name in ("huge", "endless", "page", "ok")]
        run = hostile.run_target(tmp_path_factory.mktemp("oversized"), "oversized",
                                 hostile.singer(*[("products", r) for r in records]), gateway,
                                 allow_private_image_hosts=True, request_timeout=10)
        bucket = {key: gateway.bucket_object(key) for key in
                  (e["key"] for e in gateway.state()["bucket"])}
        sent = dict(host.sent)
    return run, {f["id"]: f["reason"] for f in run.report["failed"]}, bucket, sent


def test_a_response_claiming_2_gb_is_refused_before_reading_it(oversized_images):
    run, failed, _, sent = oversized_images
    assert "img-huge" not in run.by_id
    assert re.fullmatch(r"create failed \(image\): image http://127\.0\.0\.1:\d+/huge\.png is "
                        rf"larger than {CAP} bytes", failed["img-huge"])
    assert sent["/huge.png"] < CAP  # the client hung up at the headers, not after 2 GB


def test_an_endless_response_is_cut_at_the_size_cap(oversized_images):
    run, failed, _, sent = oversized_images
    assert re.fullmatch(r"create failed \(image\): image http://127\.0\.0\.1:\d+/endless\.png "
                        rf"is larger than {CAP} bytes", failed["img-endless"])
    # read up to the cap and no further (socket buffers account for the slack)
    assert CAP <= sent["/endless.png"] < CAP + 16 * 1024 * 1024
    assert "img-endless" not in run.by_id


def test_a_page_that_is_not_an_image_is_refused_by_content_type(oversized_images):
    run, failed, _, _ = oversized_images
    assert re.fullmatch(r"create failed \(image\): http://127\.0\.0\.1:\d+/page\.png is "
                        r"text/html, not an image", failed["img-page"])
    assert "img-page" not in run.by_id


def test_the_good_image_of_the_same_run_is_uploaded(hostile, oversized_images):
    run, failed, bucket, _ = oversized_images
    assert run.code == 3, run.err[-3000:]
    assert set(failed) == {"img-huge", "img-endless", "img-page"}
    [url] = run.by_id["img-ok"]["images"]
    key = url.split("/bucket/", 1)[1]
    assert bucket[key] == ("image/png", hostile.PNG)
    assert "Traceback" not in run.err


# -- the category mapping CSV --------------------------------------------------------------
CATEGORY = {"id": "10", "name": "Kubki", "parent_id": None, "path": ["Kuchnia", "Kubki"]}


def _mapping_run(hostile, gateway, tmp_path, name: str, csv_text: str):
    mapping = tmp_path / f"{name}.csv"
    mapping.write_bytes(csv_text.encode("utf-8"))
    record = hostile.product("1", categories=[{"id": "10", "name": "Kubki",
                                               "path": ["Kuchnia", "Kubki"]}])
    text = hostile.singer(("categories", copy.deepcopy(CATEGORY)), ("products", record))
    return hostile.run_target(tmp_path, name, text, gateway,
                              category_mapping_file=str(mapping))


def test_a_mapping_saved_with_a_bom_by_excel_works(hostile, gateway, tmp_path):
    run = _mapping_run(hostile, gateway, tmp_path, "bom",
                       "\ufeffsource_id,source_name,gateway_path\r\n"
                       "10,Kuchnia>Kubki,Dom>Kuchnia>Kubki\r\n")
    assert run.code == 0, run.err[-3000:]
    assert run.by_id["1"]["tag_guids"] == [category_guid("Dom>Kuchnia>Kubki")]


def test_a_mapping_saved_with_semicolons_stops_before_any_request(hostile, gateway, tmp_path):
    run = _mapping_run(hostile, gateway, tmp_path, "semicolons",
                       "source_id;source_name;gateway_path\n10;Kuchnia>Kubki;Dom>Kuchnia>Kubki\n")
    assert_stopped(run, "line 1: separated by semicolons; the file must use commas")
    assert "line 2: separated by semicolons" in run.err  # every problem at once
    assert gateway.requests_to() == []


def test_a_mapping_row_missing_columns_is_named_by_line(hostile, gateway, tmp_path):
    run = _mapping_run(hostile, gateway, tmp_path, "missing",
                       "source_id,source_name,gateway_path\n\n10\n")
    assert_stopped(run, "line 3: expected source_id,source_name,Gateway>Category>Path, "
                        "got '10'")
    assert gateway.requests_to() == []


def test_a_mapping_cell_too_big_for_csv_is_reported_not_crashed_on(hostile, gateway,
                                                                    tmp_path):
    run = _mapping_run(hostile, gateway, tmp_path, "huge-cell",
                       "source_id,source_name,gateway_path\n10,Kubki," + "x" * 200_000 + "\n")
    assert_stopped(run, "line 2: not readable as CSV (field larger than field limit")
    assert gateway.requests_to() == []
