"""One router per resource; each route parses, calls one use case, stores, audits, renders."""
