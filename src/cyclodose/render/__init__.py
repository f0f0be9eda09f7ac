"""Renderers: typed results into text, documents, FHIR resources and CDS cards.

A renderer recomputes nothing clinical: it only chooses how to show what the
result already says.
"""
