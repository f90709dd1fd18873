"""Singer tap for Shoper (shoper.pl): categories, products with variants, and stock."""
