"""``target-gateway --config target.json --preflight``: a safe first contact with a Gateway.

Before the first import into a real Gateway, this makes only READ calls (and one presigned
upload request, which stores nothing) with the shop's signing key and guid, and prints one
line per check: the token is accepted, the shop exists, the category tree can be read, the
product query answers in the shape the target pages through (``size`` honoured,
``search_after`` advancing), the tag and upload routes answer. Then one line per guess of
``docs/gateway-api.md`` ("Guesses the preflight checks"): confirmed, contradicted, or not
checked (e.g. paging cannot be seen in a shop with fewer than three products). Nothing is
written. Exit 0 when every check passes, 1 otherwise (a contradicted guess the target relies
on fails its check). Also ``python -m target_gateway.preflight --config target.json``.

Every line passes through :data:`commerce_schema.redact.redact`; the key is registered first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from commerce_schema.redact import redact
from commerce_schema.settings import unknown_setting_problems

from target_gateway.gateway import (
    BOOTSTRAP_PATH,
    QUERY_PATH,
    SHOP_TAGS_PATH,
    UPLOADS_PATH,
    GatewayAuthError,
    GatewayClient,
    GatewayError,
)
from target_gateway.prices import gateway_gross
from target_gateway.settings import CONFIG_SCHEMA, Settings, SettingsError, schema_problems

#: products per page of the paging check (small, so that three products show paging)
PAGE = 2


@dataclass
class Preflight:
    """The checks' outcome: lines to print, and whether every check passed."""

    lines: list[str] = field(default_factory=list)
    guesses: dict[str, str] = field(default_factory=dict)  # guess id -> line
    passed: bool = True

    def check(self, ok: bool | None, name: str, text: str) -> None:
        """One check line: ok / FAIL / skip (None: could not be verified; not a failure)."""
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[ok]
        self.lines.append(redact(f"{mark} {name}: {text}"))
        if ok is False:
            self.passed = False

    def guess(self, gid: str, verdict: str, text: str) -> None:
        """A guess of docs/gateway-api.md: confirmed / contradicted / not checked."""
        self.guesses[gid] = redact(f"{verdict:<12} {gid}: {text}")

    def text(self) -> str:
        """Everything, with the guesses in the order of GUESSES."""
        out = ["target-gateway preflight (read-only; nothing is written)", *self.lines,
               "guesses of docs/gateway-api.md:"]
        for gid, what in GUESSES.items():
            out.append(self.guesses.get(gid, f"{'not checked':<12} {gid}: {what}"))
        out.append("preflight: " + ("all checks passed" if self.passed else
                                    "some checks FAILED (see above)"))
        return "\n".join(out)


#: the guesses of docs/gateway-api.md this preflight can check (ids as in that file)
GUESSES: dict[str, str] = {
    "G1": "the query answers {\"products\": [...]}",
    "G2": "the query honours `size`",
    "G3": "`search_after` [timestamps.created, guid] advances the query",
    "G4": "the Gateway's gross is net x (1 + VAT) rounded half up to 2 places",
    "G5": "products carry their tag guids in `tag_guids`",
    "G6": "GET /bootstrap has the category tree in `tag_hierarchy`",
    "G7": "POST /uploads/ answers an S3 presigned POST {url, fields: {key, ...}}",
}


def run_preflight(client: GatewayClient) -> Preflight:
    """Every check against one shop (see the module docstring)."""
    result = Preflight()
    try:
        boot = client.bootstrap()
    except GatewayAuthError as exc:
        result.check(False, "token", f"the Gateway refused the shop's token: {exc}")
        return result
    except GatewayError as exc:
        result.check(False, "token", f"GET {BOOTSTRAP_PATH} failed: {exc}")
        return result
    result.check(True, "token", f"the Gateway accepted the shop's token (GET {BOOTSTRAP_PATH})")
    _shop(client, result)
    _categories(client, boot, result)
    _query(client, result)
    _upload(client, result)
    return result


def _shop(client: GatewayClient, result: Preflight) -> None:
    path = SHOP_TAGS_PATH.format(shop=client.shop_guid)
    try:
        answer = client.shop_tags_answer()
    except GatewayError as exc:
        result.check(False, "shop", f"shop {client.shop_guid}: GET {path} failed: {exc}")
        result.check(False, "tag routes", f"GET {path} failed")
        return
    result.check(True, "shop", f"shop {client.shop_guid} exists (GET {path} answered)")
    tags = answer if isinstance(answer, list) else (
        answer.get("tags") if isinstance(answer, dict) else None)
    if isinstance(tags, list):
        variant = sum(1 for t in tags if isinstance(t, dict) and t.get("type") == "variant")
        result.check(True, "tag routes", f"the shop's tags can be listed ({len(tags)} tags, "
                                         f"{variant} variant groups)")
    else:
        result.check(False, "tag routes", f"GET {path} answered neither a list nor "
                                          "{\"tags\": [...]}")


def _categories(client: GatewayClient, boot: Any, result: Preflight) -> None:
    tree = boot.get("tag_hierarchy") if isinstance(boot, dict) else None
    if isinstance(tree, list) and tree and all(_node_ok(n) for n in tree):
        result.check(True, "categories", f"the category tree can be read ({_count(tree)} "
                                         "categories)")
        result.guess("G6", "confirmed", GUESSES["G6"])
        return
    result.guess("G6", "contradicted", GUESSES["G6"] + f"; it answered "
                                                       f"{_shape(boot)}")
    try:
        flat = client.category_tags()
    except GatewayError as exc:
        result.check(False, "categories", f"no category tree in GET {BOOTSTRAP_PATH}, and "
                                          f"GET /tags/?type=category failed: {exc}")
        return
    result.check(bool(flat), "categories", f"GET /tags/?type=category listed {len(flat)} "
                                           "category tags" if flat else
                 "neither GET /bootstrap nor GET /tags/?type=category lists categories")


def _node_ok(node: Any) -> bool:
    return (isinstance(node, dict) and isinstance(node.get("guid"), str)
            and isinstance(node.get("name"), str)
            and all(_node_ok(c) for c in node.get("children") or []))


def _count(tree: Iterable[dict[str, Any]]) -> int:
    return sum(1 + _count(node.get("children") or []) for node in tree)


def _shape(answer: Any) -> str:
    if isinstance(answer, dict):
        return "an object with " + (", ".join(sorted(map(str, answer))[:8]) or "no keys")
    if isinstance(answer, list):
        return f"a list of {len(answer)}"
    return "no JSON" if answer is None else type(answer).__name__


def _products_of(answer: Any, result: Preflight) -> list[dict[str, Any]] | None:
    if isinstance(answer, dict) and isinstance(answer.get("products"), list):
        result.guess("G1", "confirmed", GUESSES["G1"])
        return [p for p in answer["products"] if isinstance(p, dict)]
    if isinstance(answer, list):
        result.guess("G1", "contradicted", GUESSES["G1"] + "; it answered a plain list "
                                                           "(the target reads that too)")
        return [p for p in answer if isinstance(p, dict)]
    result.guess("G1", "contradicted", GUESSES["G1"] + f"; it answered {_shape(answer)}")
    return None


def _query(client: GatewayClient, result: Preflight) -> None:
    try:
        first = client.query_page(PAGE)
    except GatewayError as exc:
        result.check(False, "product query", f"POST {QUERY_PATH} failed: {exc}")
        return
    page = _products_of(first, result)
    if page is None:
        result.check(False, "product query", f"POST {QUERY_PATH} answered {_shape(first)}, "
                                             "not a list of products")
        return
    result.check(True, "product query", f"POST {QUERY_PATH} answers a list of products")
    _prices_and_tags(page, result)
    total = first.get("total") if isinstance(first, dict) else None
    if len(page) > PAGE:
        result.guess("G2", "contradicted", GUESSES["G2"] + f"; size {PAGE} gave {len(page)}")
        result.check(False, "query paging", f"asked for {PAGE} products, got {len(page)}: "
                                            "the Gateway does not honour `size`")
        return
    if len(page) < PAGE:
        if isinstance(total, int) and total > len(page):
            result.guess("G2", "contradicted", GUESSES["G2"] + f"; size {PAGE} gave "
                                                               f"{len(page)} of {total}")
            result.check(False, "query paging", f"a page of {len(page)} although {total} "
                                                "products match: `size` is capped")
        else:
            result.check(None, "query paging", f"the shop has fewer than {PAGE + 1} products; "
                                               "paging cannot be seen yet")
        return
    result.guess("G2", "confirmed", GUESSES["G2"])
    last = page[-1]
    created = (last.get("timestamps") or {}).get("created")
    if created is None or not last.get("guid"):
        result.check(False, "query paging", "a product has no timestamps.created or guid, "
                                            "which search_after needs")
        result.guess("G3", "contradicted", GUESSES["G3"] + "; no timestamps.created")
        return
    try:
        second = client.query_page(PAGE, [created, last["guid"]])
    except GatewayError as exc:
        result.check(False, "query paging", f"the second page failed: {exc}")
        return
    following = _products_of(second, result) or []
    seen = {str(p.get("guid")) for p in page}
    repeated = [str(p.get("guid")) for p in following if str(p.get("guid")) in seen]
    if repeated:
        result.guess("G3", "contradicted", GUESSES["G3"] + f"; page 2 repeats {repeated[0]}")
        result.check(False, "query paging", "the second page repeats the first: the Gateway "
                                            "does not honour `search_after`")
        return
    result.guess("G3", "confirmed", GUESSES["G3"])
    result.check(True, "query paging", f"size {PAGE} honoured and search_after advances "
                                       f"(page 2: {len(following)} products)")


def _prices_and_tags(products: list[dict[str, Any]], result: Preflight) -> None:
    checked = wrong = 0
    example = ""
    for product in products:
        unit = (product.get("price") or {}).get("base") if isinstance(product.get("price"),
                                                                       dict) else None
        base = product.get("base_price")
        vat = str(product.get("vat") or "")
        if not (isinstance(unit, dict) and isinstance(base, dict) and vat.startswith("VAT")):
            continue
        try:
            net = Decimal(str(base["amount"]))
            shown = Decimal(str(unit.get("vat0", unit.get("amount")))) + \
                Decimal(str(unit["vat"]))
            rate = int(vat.removeprefix("VAT"))
        except (KeyError, TypeError, ValueError, InvalidOperation):
            continue
        checked += 1
        if gateway_gross(net, rate) != shown:
            wrong += 1
            example = f"net {net} at {rate}% shows {shown}"
    if checked and not wrong:
        result.guess("G4", "confirmed", GUESSES["G4"] + f" (on {checked} products)")
    elif wrong:
        result.guess("G4", "contradicted", GUESSES["G4"] + f"; {example}")
        result.check(False, "prices", f"{wrong} of {checked} products show another gross "
                                      f"than the rule the target sends nets for ({example})")
    if any(isinstance(p.get("tag_guids"), list) for p in products):
        result.guess("G5", "confirmed", GUESSES["G5"])
    elif any(isinstance(p.get("tags"), list) for p in products):
        result.guess("G5", "contradicted", GUESSES["G5"] + "; products answer `tags`")


def _upload(client: GatewayClient, result: Preflight) -> None:
    try:
        signed = client.presign_upload("target-gateway-preflight.png", "image/png")
    except GatewayError as exc:
        result.check(False, "upload route", f"POST {UPLOADS_PATH} failed: {exc}")
        return
    fields = signed.get("fields") if isinstance(signed, dict) else None
    if isinstance(signed, dict) and isinstance(signed.get("url"), str) \
            and isinstance(fields, dict) and fields.get("key"):
        result.guess("G7", "confirmed", GUESSES["G7"])
        result.check(True, "upload route", f"POST {UPLOADS_PATH} answers a presigned POST "
                                           "(nothing was uploaded)")
    else:
        result.guess("G7", "contradicted", GUESSES["G7"] + f"; it answered {_shape(signed)}")
        result.check(False, "upload route", f"POST {UPLOADS_PATH} answered {_shape(signed)}")


def config_problems(config: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """The configuration's problems (unknown names, schema, values), in plain words."""
    problems = unknown_setting_problems(list(config), known)
    problems += schema_problems(config, CONFIG_SCHEMA)
    try:
        Settings.from_config(config)
    except SettingsError as exc:
        problems += [p for p in exc.problems if p not in problems]
    return [redact(p) for p in problems]


def preflight_main(config: Mapping[str, Any], known: Iterable[str], *,
                   out: IO[str] | None = None,
                   client_factory: Callable[[Settings], GatewayClient] | None = None) -> int:
    """Check the configuration, run the checks, print the lines; the exit code (0 / 1)."""
    stream = out or sys.stderr
    redact.add(str(config.get("signing_key") or ""))
    problems = config_problems(config, known)
    if problems:
        stream.write("target-gateway preflight: the configuration cannot work:\n"
                     + "".join(f"  {p}\n" for p in problems))
        return 1
    settings = Settings.from_config(config)
    redact.add(settings.signing_key)
    client = (client_factory(settings) if client_factory else GatewayClient(
        settings.api_url, settings.shop_guid, settings.key_bytes,
        timeout=settings.request_timeout, max_retries=0, token_ttl=settings.token_ttl_seconds))
    stream.write(f"target-gateway preflight against {settings.api_url}, shop "
                 f"{settings.shop_guid}\n")
    result = run_preflight(client)
    stream.write(result.text() + "\n")
    stream.flush()
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> None:
    """``python -m target_gateway.preflight --config target.json`` (several merge)."""
    parser = argparse.ArgumentParser(prog="target-gateway-preflight", description=__doc__)
    parser.add_argument("--config", action="append", required=True)
    args = parser.parse_args(argv)
    config: dict[str, Any] = {}
    for path in args.config:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sys.stderr.write(f"config file {path} cannot be read as JSON\n")
            sys.exit(1)
        if isinstance(document, dict):
            config.update(document)
    from target_gateway.target import TargetGateway  # the CLI's own set of known names

    sys.exit(preflight_main(config, TargetGateway.known_settings()))


if __name__ == "__main__":
    main()
