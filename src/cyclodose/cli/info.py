"""`cyclodose info` and `cyclodose schema` (owned by the knowledge work)."""
