"""``python -m tap_prestashop``."""

from tap_prestashop.tap import TapPrestaShop

TapPrestaShop.cli()
