"""singer-sdk's standard target tests, run against target-gateway and the Gateway emulator.

``get_target_test_class`` builds the test class; its target reads the emulator's address from
the environment (``TARGET_GATEWAY_API_URL``: the SDK's runner parses env config), since the
emulator's port is only known once the class-scoped ``resource`` fixture has started it.

Which standard tests apply to a target with a fixed contract (categories, products, stock):

- kept: ``cli_prints``; ``record_before_schema`` and ``invalid_schema`` (broken input stops
  the run); and the data-shape files (array data, camelCase, duplicates, encoded strings, no
  or changing primary keys, optional and missing fields, schema updates, special characters,
  a schema without properties). Their streams are not in the contract, so what they show is
  that any foreign stream is ignored (with one warning) and never crashes the target.
- left out: ``record_missing_key_property``: it expects MissingKeyPropertiesError, which only
  the ignored foreign stream would raise; for contract streams a record without its key is
  skipped and reported by id and field instead (``test_sdk_contract.py``).
  ``multiple_state_messages`` (also outside the SDK's own default suite): it expects STATE
  at the SDK's drain points; this target prints each STATE as soon as every record before it
  is in the Gateway (``test_target.py``, ``test_sdk_contract.py``).

A custom suite adds what matters here: contract records through the SDK's runner land in the
emulator, and the STATE after them is relayed once.
"""

from __future__ import annotations

import io
import os

import pytest
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetArrayData,
    TargetCamelcaseComplexSchema,
    TargetCamelcaseTest,
    TargetCliPrintsTest,
    TargetDuplicateRecords,
    TargetEncodedStringData,
    TargetInvalidSchemaTest,
    TargetNoPrimaryKeys,
    TargetOptionalAttributes,
    TargetPrimaryKeyUpdates,
    TargetRecordBeforeSchemaTest,
    TargetRecordMissingOptionalFields,
    TargetSchemaNoProperties,
    TargetSchemaUpdates,
    TargetSpecialCharsInAttributes,
)
from singer_sdk.testing.templates import TargetTestTemplate
from target_gateway.target import TargetGateway

from .conftest import product, singer, variant


class TargetContractRecords(TargetTestTemplate):
    """Contract records through the SDK's runner: every variant lands, STATE is relayed."""

    name = "contract_records"

    def test(self) -> None:
        """Two products (one with two variants) and their stock, then a STATE."""
        records = [product("1", "Herbata zielona"),
                   product("2", "Botki Tatry", variants=[
                       variant("21", options={"Rozmiar": "38"}, sku="B-38"),
                       variant("22", options={"Rozmiar": "39"}, sku="B-39")])]
        stock = [{"product_id": "2", "variant_id": "22", "quantity": 9,
                  "updated_at": "2024-01-03T08:00:00+00:00"}]
        self.runner.target_input = io.StringIO(singer(
            *[("products", r) for r in records], *[("stock", s) for s in stock],
            ("STATE", {"bookmark": 2})))
        self.runner.sync_all()

    def validate(self) -> None:
        """The emulator has the three variants, with the stock level; STATE relayed once."""
        landed = {p["data"]["source"]["variant_id"]: p
                  for p in self.resource.products(DEMO_SHOP_GUID)}
        assert sorted(landed) == ["1", "21", "22"]
        assert landed["22"]["stock_level"] == 9
        assert self.runner.state_messages == [{"bookmark": 2}]


STANDARD = SingerTestSuite(kind="target", tests=[
    TargetCliPrintsTest, TargetRecordBeforeSchemaTest, TargetInvalidSchemaTest,
    TargetArrayData, TargetCamelcaseComplexSchema, TargetCamelcaseTest, TargetDuplicateRecords,
    TargetEncodedStringData, TargetNoPrimaryKeys, TargetOptionalAttributes,
    TargetPrimaryKeyUpdates, TargetRecordMissingOptionalFields, TargetSchemaNoProperties,
    TargetSchemaUpdates, TargetSpecialCharsInAttributes])
CONTRACT = SingerTestSuite(kind="target", tests=[TargetContractRecords])

StandardTargetTests = get_target_test_class(
    TargetGateway,
    config={"shop_guid": DEMO_SHOP_GUID, "signing_key": DEMO_SIGNING_KEY,
            "api_url": "http://127.0.0.1:9", "retry_backoff_ms": 0, "max_retries": 1,
            "image_mode": "hotlink"},
    custom_suites=[STANDARD, CONTRACT], include_target_tests=False)


class TestTargetGatewaySDK(StandardTargetTests):  # type: ignore[misc,valid-type]
    """The SDK's tests, with the Gateway emulator as the resource."""

    @pytest.fixture(scope="class")
    @classmethod
    def resource(cls):
        with GatewayEmulator() as emulator:
            before = os.environ.get("TARGET_GATEWAY_API_URL")
            os.environ["TARGET_GATEWAY_API_URL"] = emulator.url
            try:
                yield emulator
            finally:
                if before is None:
                    os.environ.pop("TARGET_GATEWAY_API_URL", None)
                else:
                    os.environ["TARGET_GATEWAY_API_URL"] = before
