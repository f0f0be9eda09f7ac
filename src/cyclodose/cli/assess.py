"""`cyclodose assess` (owned by the screening/assessment work)."""
