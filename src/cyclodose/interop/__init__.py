"""Interop readers: outside formats (FHIR R4, CDS Hooks prefetch) into Case documents.

Readers decide nothing clinical: they find, convert and date the facts a Case
document holds, and name the resource and element of anything they cannot use.
"""
