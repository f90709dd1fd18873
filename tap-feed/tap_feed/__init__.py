"""Singer tap for Ceneo and Google Merchant product feeds."""
