"""The input: the case document (`CaseDocument` → canonical `Case`), units (pint) and the one
document reader (YAML/JSON, duplicate keys and non-UTF-8 refused)."""
