"""Unknown setting names are named, with the setting they probably meant."""

import pytest
from commerce_schema.settings import unknown_setting_problems

KNOWN = ["shop_url", "username", "password", "access_token", "page_size", "start_date",
         "dry_run", "language", "stream_maps", "flattening_enabled"]


@pytest.mark.parametrize(("given", "meant"), [
    ("dryrun", "dry_run"), ("shop_ur", "shop_url"), ("pasword", "password"),
    ("Page-Size", "page_size"), ("startdate", "start_date"), ("user", "username"),
    ("lang", "language"), ("flatening_enabled", "flattening_enabled"),
])
def test_a_typo_names_the_setting_it_probably_meant(given, meant):
    assert unknown_setting_problems([given], KNOWN) == [
        f"{given}: unknown setting; did you mean {meant}?"]


def test_a_name_nothing_resembles_is_named_alone():
    assert unknown_setting_problems(["colour"], KNOWN) == ["colour: unknown setting."]


def test_known_names_and_tool_extras_pass_and_the_order_is_kept():
    given = ["shop_url", "zzz_top", "_select", "dryrun", "language"]
    assert unknown_setting_problems(given, KNOWN) == [
        "zzz_top: unknown setting.", "dryrun: unknown setting; did you mean dry_run?"]
