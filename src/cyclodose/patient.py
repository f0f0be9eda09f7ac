"""Derived patient facts: renal function, body size, age group.

Equations (test vectors in tests/test_patient.py):
- Cockcroft DW, Gault MH. Nephron 1976;16:31-41 (actual body weight, x0.85 if female).
- CKD-EPI 2021 race-free: Inker LA et al. N Engl J Med 2021;385:1737-49.
- Bedside Schwartz: Schwartz GJ et al. J Am Soc Nephrol 2009;20:629-37.
- Fat-free mass: Janmahasatian S et al. Clin Pharmacokinet 2005;44:1051-65.
"""

from __future__ import annotations

from typing import Literal

Sex = Literal["male", "female"]


def cockcroft_gault_ml_min(age_years: float, weight_kg: float, scr_mg_dl: float, sex: Sex) -> float:
    """Creatinine clearance (mL/min, not BSA-indexed) with actual body weight."""
    crcl = (140.0 - age_years) * weight_kg / (72.0 * scr_mg_dl)
    return crcl * 0.85 if sex == "female" else crcl


def ckd_epi_2021_ml_min_173m2(age_years: float, scr_mg_dl: float, sex: Sex) -> float:
    """eGFR (mL/min/1.73 m²), race-free CKD-EPI 2021 creatinine equation; adults only."""
    kappa, alpha = (0.7, -0.241) if sex == "female" else (0.9, -0.302)
    ratio = scr_mg_dl / kappa
    egfr = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age_years
    return egfr * 1.012 if sex == "female" else egfr


def bedside_schwartz_ml_min_173m2(height_cm: float, scr_mg_dl: float) -> float:
    """eGFR (mL/min/1.73 m²) for children: 0.413 × height / SCr (enzymatic creatinine)."""
    return 0.413 * height_cm / scr_mg_dl


def bmi_kg_m2(weight_kg: float, height_cm: float) -> float:
    return weight_kg / (height_cm / 100.0) ** 2


def fat_free_mass_kg(weight_kg: float, height_cm: float, sex: Sex) -> float:
    """Janmahasatian 2005 fat-free mass (kg)."""
    bmi = bmi_kg_m2(weight_kg, height_cm)
    if sex == "male":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
