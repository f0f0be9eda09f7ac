"""Generated golden cases: a grid over the clinical situations the core must keep answering
the same way (children, infants, renal function, dialysis, pregnancy, breastfeeding, levels,
MICs, co-medications, both PK models). Written as Case documents (plain dicts)."""

from __future__ import annotations

from typing import Any

_ADULT = {"age_years": 40, "sex": "male", "weight_kg": 65, "height_cm": 172,
          "serum_creatinine": {"value": 80, "unit": "umol/L"}}
_REGIMEN = {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
_BASE_COMEDS = ["bedaquiline", "linezolid", "levofloxacin", "clofazimine"]


def _case(patient: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"patient": {**_ADULT, **(patient or {})},
                           "comedications": list(_BASE_COMEDS),
                           "settings": {"start_date": "2026-03-02"}}
    for key, value in top.items():
        if key == "settings":
            doc["settings"] = {**doc["settings"], **value}
        else:
            doc[key] = value
    return doc


def _levels(*points: tuple[str, float | str]) -> list[dict[str, Any]]:
    out = []
    for time, value in points:
        if value == "BLQ":
            out.append({"time": time, "value": None, "unit": "mg/L", "blq": True, "lloq": 2.0})
        else:
            out.append({"time": time, "value": value, "unit": "mg/L"})
    return out


_TWO = ("2026-03-10T10:00:00", "2026-03-10T14:00:00")


def cases() -> dict[str, dict[str, Any]]:
    c: dict[str, dict[str, Any]] = {}
    # children and infants (both paediatric guidelines)
    for age, weight, height in ((0.5, 7.5, 66), (1.5, 10.5, 80), (4, 16, 102), (9, 28, 133),
                                (14, 45, 160)):
        for g in ("BNFC", "AAP"):
            c[f"child_{age:g}y_{g.lower()}"] = _case(
                {"age_years": age, "weight_kg": weight, "height_cm": height,
                 "serum_creatinine": {"value": 0.4, "unit": "mg/dL"},
                 "sex": "female" if age < 5 else "male"},
                settings={"paediatric_guideline": g})
    # renal impairment at several creatinine clearances
    for crcl in (95, 60, 45, 30, 25, 15):
        c[f"renal_crcl{crcl}"] = _case({"crcl_ml_min": crcl, "serum_creatinine": None})
    for scr in (1.4, 2.5, 4.0):
        c[f"renal_scr{scr:g}"] = _case({"age_years": 68, "sex": "female", "weight_kg": 58,
                                        "serum_creatinine": {"value": scr, "unit": "mg/dL"}})
    c["renal_no_creatinine"] = _case({"serum_creatinine": None})
    # dialysis (field, and as a recorded condition: issue #8 defect)
    c["dialysis_haemo"] = _case({"dialysis": "haemodialysis",
                                 "serum_creatinine": {"value": 7.8, "unit": "mg/dL"}})
    c["dialysis_peritoneal"] = _case({"dialysis": "peritoneal",
                                      "serum_creatinine": {"value": 6.0, "unit": "mg/dL"}})
    c["dialysis_as_condition"] = _case({"conditions": ["dialysis"]})
    c["dialysis_as_icd10"] = _case({"conditions": ["ICD10:Z99.2"]})
    # pregnancy, breastfeeding
    c["pregnant"] = _case({"sex": "female", "age_years": 27, "weight_kg": 60,
                           "pregnant": True})
    c["pregnant_trimester2"] = _case({"sex": "female", "age_years": 27, "weight_kg": 60,
                                      "pregnant": True, "trimester": 2})
    c["breastfeeding_no_regimen"] = _case({"sex": "female", "age_years": 30,
                                           "weight_kg": 55, "breastfeeding": True})
    c["breastfeeding_regimen"] = _case({"sex": "female", "age_years": 30, "weight_kg": 55,
                                        "breastfeeding": True}, regimen=_REGIMEN)
    # conditions, symptoms, alcohol, co-medications
    c["epilepsy_alcohol"] = _case({"conditions": ["epilepsy"], "alcohol": "heavy"})
    c["depression_psychosis"] = _case({"conditions": ["ICD10:F33.1", "psychosis"],
                                       "symptoms": ["insomnia", "anxiety"]})
    c["comeds_isoniazid_ethionamide"] = _case(comedications=["isoniazid", "ethionamide",
                                                             "pyridoxine", "unknowndrugxyz"])
    c["comeds_none"] = _case(comedications=[])
    # a regimen without levels; both models
    for model in ("alghamdi2019", "resendiz2025"):
        c[f"regimen_{model}"] = _case(regimen=_REGIMEN, settings={"model": model})
    # levels: typical, high, low, below the limit of quantification, with an MIC
    for model in ("alghamdi2019", "resendiz2025"):
        c[f"levels_typical_{model}"] = _case(regimen=_REGIMEN, settings={"model": model},
                                             levels=_levels((_TWO[0], 16.2), (_TWO[1], 14.1)))
    c["levels_high"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], 38.0), (_TWO[1], 33.0)))
    c["levels_low"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], 8.0), (_TWO[1], 5.5)))
    c["levels_one"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], 22.0)))
    c["levels_blq"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], 12.0), (_TWO[1], "BLQ")))
    # issue #9 Misleading 3: only a 2 h level (low, or below quantification); two modes of
    # the posterior (fast against delayed absorption, the C6 > C2 pattern)
    c["levels_low_2h_only"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], 8.0)))
    c["levels_blq_2h_only"] = _case(regimen=_REGIMEN, levels=_levels((_TWO[0], "BLQ")))
    c["levels_two_modes"] = _case(regimen=_REGIMEN,
                                  levels=_levels((_TWO[0], 14.0), (_TWO[1], 20.0)))
    for mic in (2.0, 8.0):
        c[f"levels_mic{mic:g}"] = _case(
            regimen=_REGIMEN, levels=_levels((_TWO[0], 16.2), (_TWO[1], 14.1)),
            target={"peak_low_mg_l": 20, "peak_high_mg_l": 30, "mic_mg_l": mic})
    c["levels_mic16_tmic64"] = _case(
        regimen=_REGIMEN, levels=_levels((_TWO[0], 16.2), (_TWO[1], 14.1)),
        target={"mic_mg_l": 16, "tmic_pct": 64})
    c["levels_renal_crcl35"] = _case({"crcl_ml_min": 35, "serum_creatinine": None},
                                     regimen=_REGIMEN,
                                     levels=_levels((_TWO[0], 28.0), (_TWO[1], 26.0)))
    c["levels_child_9y"] = _case({"age_years": 9, "weight_kg": 28, "height_cm": 133},
                                 regimen={**_REGIMEN, "amount_mg": 250, "interval_h": 24,
                                          "count": 10},
                                 levels=_levels((_TWO[0], 18.0), (_TWO[1], 12.0)))
    c["levels_dialysis"] = _case({"dialysis": "haemodialysis",
                                  "serum_creatinine": {"value": 7.8, "unit": "mg/dL"}},
                                 regimen={**_REGIMEN, "interval_h": 48, "count": 5},
                                 levels=_levels((_TWO[0], 30.0)))
    c["levels_pregnant_mic4"] = _case({"sex": "female", "age_years": 27, "weight_kg": 60,
                                       "pregnant": True}, regimen=_REGIMEN,
                                      levels=_levels((_TWO[0], 19.0), (_TWO[1], 15.0)),
                                      target={"mic_mg_l": 4})
    return c
