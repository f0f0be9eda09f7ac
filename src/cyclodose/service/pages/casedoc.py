"""Form fields -> a Case document (the same document the API accepts).

Field names in the forms are the document's own paths (`patient.serum_creatinine.unit`), so
that the API's problem list lands beside the field that caused it. Nothing here looks at
a clinical value: empty inputs are left out, the rest is passed as typed for the core to
validate.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

PATIENT_FIELDS = ("age_years", "sex", "weight_kg", "height_cm", "crcl_ml_min", "dialysis",
                  "alcohol", "gestational_week", "trimester")
FLAGS = ("pregnant", "breastfeeding")
REGIMEN_FIELDS = ("amount_mg", "interval_h", "start", "count")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def entries(form: FormData, name: str) -> list[str]:
    """Every non-blank entry of a repeated field, in order (an unknown term is kept)."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def case_document(form: FormData) -> dict[str, Any]:
    patient: dict[str, Any] = {}
    for name in PATIENT_FIELDS:
        if value := _text(form, f"patient.{name}"):
            patient[name] = value
    for name in FLAGS:
        patient[name] = _text(form, f"patient.{name}") in ("on", "true", "yes")
    value, unit = (_text(form, "patient.serum_creatinine.value"),
                   _text(form, "patient.serum_creatinine.unit"))
    if value or unit:
        patient["serum_creatinine"] = {"value": value, "unit": unit}
    patient["conditions"] = entries(form, "patient.conditions")
    doc: dict[str, Any] = {"patient": patient, "comedications": entries(form, "comedications")}
    regimen = {name: v for name in REGIMEN_FIELDS if (v := _text(form, f"regimen.{name}"))}
    if regimen:
        doc["regimen"] = regimen
    return doc
