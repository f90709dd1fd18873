"""tap-iai: IdoSell (formerly IAI-Shop) catalogs as the record contract's Singer streams."""
