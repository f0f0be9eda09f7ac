"""FHIR R4 resources (read with fhir.resources' R4B models) into a Case document."""

from cyclodose.interop.fhir.reader import FhirReading, ReaderOptions, read_fhir

__all__ = ["FhirReading", "ReaderOptions", "read_fhir"]
