"""The target's settings: the JSON schema Meltano and ``--about`` show, and one typed view of it.

Defaults live here and only here (the SDK does not fill schema defaults into the config), so
that every module reads the same effective value. Checks the schema cannot express (a UUID,
base64 that decodes) are in :func:`check_settings`; their messages never echo the key.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from singer_sdk import typing as th

DEFAULT_API_URL = "https://sma.dev.gwapi.eu"
IMAGE_MODES = ("copy", "upload", "hotlink")
UNMAPPED_POLICIES = ("fail", "skip_product", "ignore")

CONFIG_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property("api_url", th.StringType, default=DEFAULT_API_URL,
                description="Base URL of the Gateway API (the development API by default)."),
    th.Property("shop_guid", th.StringType, required=True,
                description="The shop's Gateway organisation guid (a UUID)."),
    th.Property("signing_key", th.StringType, required=True, secret=True,
                description="The shop's base64-encoded JWT signing key (HS256)."),
    th.Property("image_mode", th.StringType, default="copy", allowed_values=list(IMAGE_MODES),
                description="copy: the Gateway copies public images itself, others are "
                            "uploaded; upload: always download and upload; hotlink: put the "
                            "shop's public URLs into the product (others are uploaded)."),
    th.Property("category_mapping_file", th.StringType,
                description="CSV mapping source categories to Gateway category paths: "
                            "source_id,source_name,Path>To>Category[,more paths]."),
    th.Property("unmapped_categories", th.StringType, allowed_values=list(UNMAPPED_POLICIES),
                description="What to do with a product in a category the mapping file does "
                            "not map: fail (default with a mapping file: stop before writing "
                            "anything and list every problem), skip_product, or ignore (import "
                            "with the mapped categories only)."),
    th.Property("skip_category_ids", th.ArrayType(th.StringType),
                description="Source category ids whose products are not imported."),
    th.Property("category_mapping_template", th.StringType,
                description="Write a ready-to-fill mapping CSV of every source category to "
                            "this path (and the Gateway's category paths next to it)."),
    th.Property("mapping_template_only", th.BooleanType, default=True,
                description="With category_mapping_template: true writes only the template "
                            "and nothing to the Gateway; false also imports the products "
                            "(without categories unless a mapping file is given)."),
    th.Property("dry_run", th.BooleanType, default=False,
                description="Read the shop's Gateway state and print the planned writes, "
                            "without sending any."),
    th.Property("batch_size", th.IntegerType, default=50,
                description="Product records per batch, and Gateway products per create call."),
    th.Property("max_workers", th.IntegerType, default=8,
                description="Concurrent Gateway writes (image copies, product calls)."),
    th.Property("request_timeout", th.IntegerType, default=30,
                description="Seconds to wait for one Gateway or image request."),
    th.Property("max_retries", th.IntegerType, default=5,
                description="Retries of a request answered 429/5xx or cut off."),
    th.Property("retry_backoff_ms", th.IntegerType, default=1000,
                description="First retry wait in milliseconds when the API sends no "
                            "Retry-After; doubles with each retry (capped at 60 s)."),
    th.Property("report_file", th.StringType,
                description="Write the run summary as JSON to this path."),
    th.Property("allow_private_image_hosts", th.BooleanType, default=False,
                description="Allow image downloads from hosts that resolve to private, "
                            "loopback or link-local addresses (tests, intranet shops)."),
    th.Property("untracked_stock_level", th.IntegerType,
                description="stock_level sent for variants whose shop does not track stock; "
                            "by default stock_level is left out for them."),
    th.Property("token_ttl_seconds", th.IntegerType, default=0,
                description="0: the documented JWT claims only; >0: add iat/exp and re-mint "
                            "tokens that live this long."),
    th.Property("currency_rates", th.ObjectType(additional_properties=th.CustomType(
                    {"type": ["string", "number"]})),
                description="Fixed conversion rates to PLN for products in another currency, "
                            "e.g. {\"EUR\": \"4.30\"}: the gross is converted and rounded "
                            "to the grosz, and the report names the rate used. A product in a "
                            "currency without a rate is refused by name (the run ends "
                            "partial)."),
    th.Property("archive_missing", th.BooleanType, default=True,
                description="After a complete run (every stream read to its end, nothing "
                            "failed, the stock stream's full list of the shop's variants "
                            "received), archive the Gateway products whose source variant is "
                            "no longer in the shop, and restore one that comes back."),
    th.Property("archive_max_percent", th.NumberType, default=20,
                description="The largest share of the shop's Gateway products (in percent) "
                            "one run may archive; above it nothing is archived and the run "
                            "ends partial, unless confirm_mass_archive is true (a tap bug "
                            "that returns an empty catalog must not empty the shop)."),
    th.Property("confirm_mass_archive", th.BooleanType, default=False,
                description="Allow one run to archive more than archive_max_percent of the "
                            "shop's Gateway products (set it for one run, after checking the "
                            "shop really stopped selling them)."),
    th.Property("index_dir", th.StringType,
                description="Directory for the run's temporary index of the shop's Gateway "
                            "products (an SQLite file, removed at the end of the run; about "
                            "1 KB per variant). Default: the system temp directory; set it "
                            "to a disk-backed volume where /tmp is held in memory (tmpfs)."),
).to_dict()


class SettingsError(ValueError):
    """A setting that cannot work; the message names the setting, never a secret's value.

    ``problems`` lists every problem found, one plain sentence each.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


_TYPE_WORDS = {"string": "a string", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "array": "a list", "object": "an object",
               "null": "empty"}


def schema_problems(config: Mapping[str, Any], schema: dict[str, Any]) -> list[str]:
    """The configuration's problems against the JSON schema, in plain words.

    Never with the offending value (it could be a secret): "batch_size must be a whole
    number", "image_mode must be one of copy, upload, hotlink", "shop_guid is missing".
    """
    problems = []
    for error in Draft7Validator(schema).iter_errors(dict(config)):
        where = ".".join(str(p) for p in error.absolute_path) or "the configuration"
        if error.validator == "required":
            missing = [str(n) for n in error.validator_value if n not in error.instance]
            problems += [f"{name} is missing" for name in missing]
        elif error.validator == "type":
            kinds = error.validator_value
            kinds = kinds if isinstance(kinds, list) else [kinds]
            problems.append(f"{where} must be "
                            + " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds))
        elif error.validator == "enum":
            problems.append(f"{where} must be one of "
                            + ", ".join(str(v) for v in error.validator_value))
        else:
            problems.append(f"{where} is not valid ({error.validator}: "
                            f"{error.validator_value})")
    return sorted(dict.fromkeys(problems), key=problems.index)


def check_shop_guid(value: object) -> str:
    """The canonical form of a shop guid, or SettingsError."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError) as exc:
        raise SettingsError("shop_guid must be a UUID such as "
                            "'5b0c7a52-3f3e-4a8e-9d0e-6f2a1c9e4b21'") from exc


def decode_signing_key(value: object) -> bytes:
    """The HMAC key bytes of a base64 signing key, or SettingsError (without the value)."""
    if not isinstance(value, str) or not value.strip():
        raise SettingsError("signing_key is required (the shop's base64-encoded signing key)")
    text = "".join(value.split())
    padded = text + "=" * (-len(text) % 4)
    for alphabet, decode in ((_B64, base64.b64decode), (_B64URL, base64.urlsafe_b64decode)):
        if set(text.rstrip("=")) <= alphabet:
            try:
                key = decode(padded)
            except (binascii.Error, ValueError):
                continue
            if key:
                return key
    raise SettingsError("signing_key is not valid base64 (it must be the Base64 encoded "
                        "token signing key the Gateway gave the shop)")


_ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_B64 = _ALNUM | set("+/")
_B64URL = _ALNUM | set("-_")


@dataclass(frozen=True)
class Settings:
    """Effective settings with defaults applied; built once by the target."""

    api_url: str
    shop_guid: str
    signing_key: str = field(repr=False)
    key_bytes: bytes = field(repr=False)
    image_mode: str = "copy"
    category_mapping_file: str | None = None
    unmapped_categories: str = "ignore"
    skip_category_ids: frozenset[str] = frozenset()
    category_mapping_template: str | None = None
    mapping_template_only: bool = True
    dry_run: bool = False
    batch_size: int = 50
    max_workers: int = 8
    request_timeout: int = 30
    max_retries: int = 5
    retry_backoff_ms: int = 1000
    report_file: str | None = None
    allow_private_image_hosts: bool = False
    untracked_stock_level: int | None = None
    token_ttl_seconds: int = 0
    index_dir: str | None = None
    currency_rates: Mapping[str, Decimal] = field(default_factory=dict)
    archive_missing: bool = True
    archive_max_percent: Decimal = Decimal(20)
    confirm_mass_archive: bool = False

    @property
    def template_only(self) -> bool:
        """Write the mapping template and nothing to the Gateway."""
        return bool(self.category_mapping_template) and self.mapping_template_only

    @property
    def use_mapping(self) -> bool:
        """Products get category tags (a mapping file is given and no template-only run)."""
        return bool(self.category_mapping_file)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build and check; raises SettingsError listing every problem at once."""
        problems: list[str] = []
        shop_guid = key = ""
        key_bytes = b""
        try:
            shop_guid = check_shop_guid(config.get("shop_guid"))
        except SettingsError as exc:
            problems.append(str(exc))
        try:
            key = str(config.get("signing_key"))
            key_bytes = decode_signing_key(config.get("signing_key"))
        except SettingsError as exc:
            problems.append(str(exc))
        api_url = str(config.get("api_url") or DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("https://", "http://")):
            problems.append("api_url must start with https:// (or http:// for a local "
                            "emulator)")
        mapping_file = config.get("category_mapping_file") or None
        if mapping_file and not Path(mapping_file).is_file():
            problems.append(f"category_mapping_file {mapping_file} does not exist")
        index_dir = config.get("index_dir") or None
        if index_dir and not Path(index_dir).is_dir():
            problems.append(f"index_dir {index_dir} is not a directory")
        policy = config.get("unmapped_categories") or ("fail" if mapping_file else "ignore")
        numbers = {name: config.get(name, default) for name, default in (
            ("batch_size", 50), ("max_workers", 8), ("request_timeout", 30),
            ("max_retries", 5), ("retry_backoff_ms", 1000), ("token_ttl_seconds", 0))}
        minimum = {"batch_size": 1, "max_workers": 1, "request_timeout": 1, "max_retries": 0,
                   "retry_backoff_ms": 0, "token_ttl_seconds": 0}
        for name, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum[name]:
                problems.append(f"{name} must be an integer of at least {minimum[name]}")
        rates = currency_rates(config.get("currency_rates"), problems)
        share = config.get("archive_max_percent", 20)
        try:
            max_percent = _decimal(share)
        except (ValueError, ArithmeticError):
            max_percent = Decimal(-1)
        if not Decimal(0) <= max_percent <= Decimal(100):
            problems.append("archive_max_percent must be a number from 0 to 100")
        if problems:
            raise SettingsError("; ".join(problems), problems)
        return cls(
            api_url=api_url, shop_guid=shop_guid, signing_key=key, key_bytes=key_bytes,
            image_mode=config.get("image_mode") or "copy",
            category_mapping_file=mapping_file, unmapped_categories=policy,
            skip_category_ids=frozenset(str(i) for i in config.get("skip_category_ids") or ()),
            category_mapping_template=config.get("category_mapping_template") or None,
            mapping_template_only=bool(config.get("mapping_template_only", True)),
            dry_run=bool(config.get("dry_run", False)),
            report_file=config.get("report_file") or None,
            allow_private_image_hosts=bool(config.get("allow_private_image_hosts", False)),
            untracked_stock_level=config.get("untracked_stock_level"),
            index_dir=index_dir,
            currency_rates=rates,
            archive_missing=bool(config.get("archive_missing", True)),
            archive_max_percent=max_percent,
            confirm_mass_archive=bool(config.get("confirm_mass_archive", False)),
            **numbers,
        )


def _decimal(value: object) -> Decimal:
    """A number from JSON (int, float through its repr, or a numeric string) as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("not a number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def currency_rates(value: object, problems: list[str]) -> dict[str, Decimal]:
    """``currency_rates`` as {ISO code: Decimal PLN per unit}; problems are appended."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        problems.append('currency_rates must be an object such as {"EUR": "4.30"}')
        return {}
    rates: dict[str, Decimal] = {}
    for code, rate in value.items():
        name = str(code).strip().upper()
        try:
            number = _decimal(rate)
        except (ValueError, ArithmeticError):
            number = Decimal(0)
        if len(name) != 3 or not name.isalpha():
            problems.append(f"currency_rates: {code} is not a currency code such as EUR")
        elif number <= 0:
            problems.append(f"currency_rates: the rate of {name} must be a positive number "
                            'such as "4.30"')
        else:
            rates[name] = number
    return rates
