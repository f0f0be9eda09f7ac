"""Renderers: typed results into text, documents, FHIR resources and CDS cards.

Concentration plots (`plots`), the consult report (`consult`), the FHIR Bundle writer
(`fhir_bundle`) and CDS Hooks cards (`cards`). A renderer recomputes nothing clinical: it
only chooses how to show what the result already says.
"""
