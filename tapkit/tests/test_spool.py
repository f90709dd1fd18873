"""The spool: records kept on disk for a later stream, replayed once, Decimals exact."""

from decimal import Decimal

from tapkit.spool import RecordSpool


def test_records_come_back_in_order_exactly_once():
    spool = RecordSpool("stock records")
    records = [{"variant_id": str(i), "quantity": Decimal("1.50") * i, "sku": "Ż\ud800"}
               for i in range(1, 4)]
    for record in records:
        spool.add(record)
    assert not spool.complete
    spool.finish()
    assert spool.complete
    assert spool.count == 3
    assert list(spool.drain()) == records
    assert not spool.complete  # drained: closed
