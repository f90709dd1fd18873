"""Prices as the Gateway must show them: the shop's gross to the grosz.

The gross is the price of record: it is what the shop's customer pays, and the marketplace
must show the same. The Gateway takes a NET ``base_price.amount`` and a VAT class and computes
the gross itself, most likely as ``net x (1 + VAT)`` rounded half up to 2 places
(:func:`gateway_gross`; see ``docs/gateway-api.md``, "The price rule"). No 2-decimal net gives
every gross back: 158.00 at 23% has 128.46 (-> 158.01) and 128.45 (-> 157.99). So the net
sent is derived from the gross (:func:`net_for_gross`): the shortest net, 2 to
:data:`MAX_PLACES` decimal places, whose Gateway gross is exactly the shop's gross. Four
places always suffice for a VAT rate up to 100% (the error of a 4-place net is at most
0.00005 x 2 < 0.005); 2 places are kept where they already work, so that a catalog whose
prices were right before is not re-sent for a cosmetic change of digits.

A record in another currency is converted to PLN only with a rate the operator set
(``currency_rates``), gross first, then rounded half up to the grosz
(:func:`to_pln_gross`); without one the product is refused by name (see the planner).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")
#: the most decimal places a net is sent with (4 always round-trip; see the docstring)
MAX_PLACES = 4
#: the one currency the Gateway is known to take (written "zł" on the wire)
HOME_CURRENCY = "PLN"


class PriceError(ValueError):
    """A price that cannot be sent so that the Gateway shows the shop's gross."""


def gateway_gross(net: Decimal, vat_rate: int) -> Decimal:
    """The gross the Gateway shows for a net and a VAT rate (the likely rule, unconfirmed):
    ``net x (100 + VAT) / 100``, rounded half up to 2 places."""
    return (net * (100 + vat_rate) / 100).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def net_for_gross(gross: Decimal, vat_rate: int) -> Decimal:
    """The shortest net (2..:data:`MAX_PLACES` places) whose :func:`gateway_gross` is
    ``gross``; PriceError if none (a gross with more than 2 places, or a negative one)."""
    gross = Decimal(gross)
    if not gross.is_finite() or gross < 0 or gross != gross.quantize(TWO_PLACES):
        raise PriceError(f"a gross price of {gross} cannot be shown to the grosz")
    exact = gross * 100 / (100 + vat_rate)
    for places in range(2, MAX_PLACES + 1):
        net = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if gateway_gross(net, vat_rate) == gross:
            return net
    raise PriceError(f"no net of up to {MAX_PLACES} places gives the gross {gross} at "
                     f"{vat_rate}% VAT")  # pragma: no cover - 4 places always work


def to_pln_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """A foreign gross in PLN at a fixed rate, rounded half up to the grosz."""
    return (Decimal(gross) * rate).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
