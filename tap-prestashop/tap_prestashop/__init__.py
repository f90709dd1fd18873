"""Singer tap for PrestaShop shops (webservice, 1.6 / 1.7 / 8.x)."""
