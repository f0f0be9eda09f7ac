"""Derived patient facts: renal function, body size, age group.

Equations (test vectors in tests/test_patient.py):
- Cockcroft DW, Gault MH. Nephron 1976;16:31-41 (actual body weight, x0.85 if female).
- CKD-EPI 2021 race-free: Inker LA et al. N Engl J Med 2021;385:1737-49.
- Bedside Schwartz: Schwartz GJ et al. J Am Soc Nephrol 2009;20:629-37.
- Fat-free mass: Janmahasatian S et al. Clin Pharmacokinet 2005;44:1051-65.
- Ideal body weight: Devine BJ. Drug Intell Clin Pharm 1974;8:650-5.
- Adjusted body weight IBW + 0.4 x (TBW - IBW) for Cockcroft-Gault in obesity: common
  practice, not a single standard (knowledge id ext.adjusted_body_weight).
- GFR categories: KDIGO 2012 CKD guideline (G1 >= 90 ... G5 < 15; G5D on dialysis).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from cyclodose.intake.case import Patient, trimester_of_week
from cyclodose.limits import RENAL_IMPAIRMENT_CRCL_ML_MIN, SEVERE_RENAL_CRCL_ML_MIN

Sex = Literal["male", "female"]

# The `patient.dialysis` values spelled out for a reader ("peritoneal" alone is not a therapy).
DIALYSIS_LABEL = {"none": "no dialysis", "haemodialysis": "haemodialysis",
                  "peritoneal": "peritoneal dialysis"}


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


def ideal_body_weight_kg(height_cm: float, sex: Sex) -> float:
    """Devine 1974: 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch above 5 feet."""
    base = 50.0 if sex == "male" else 45.5
    return base + 2.3 * (height_cm / 2.54 - 60.0)


def adjusted_body_weight_kg(weight_kg: float, height_cm: float, sex: Sex) -> float:
    """IBW + 0.4 x (TBW - IBW); actual weight when it is not above the ideal weight."""
    ibw = ideal_body_weight_kg(height_cm, sex)
    return weight_kg if weight_kg <= ibw else ibw + 0.4 * (weight_kg - ibw)


_ORDINAL = {1: "first", 2: "second", 3: "third"}


def gestation(patient: Patient) -> str:
    """'week 24, second trimester', 'second trimester, week not recorded', or 'gestation not
    recorded'."""
    week, trimester = patient.gestational_week, patient.trimester
    if week is not None:
        return f"week {week}, {_ORDINAL[trimester_of_week(week)]} trimester"
    if trimester is not None:
        return f"{_ORDINAL[trimester]} trimester, week not recorded"
    return "gestation not recorded"


def gestation_text(patient: Patient) -> str:
    """'pregnant, week 24, second trimester', or 'pregnant, gestation not recorded'."""
    return f"pregnant, {gestation(patient)}"


def pregnancy_outside_models(patient: Patient) -> str | None:
    """The caveat beside every model-informed dose (a-priori and TDM) for a pregnant patient:
    neither PK model (Alghamdi 2019; Resendiz-Galvan 2025) included pregnant women."""
    if not patient.pregnant:
        return None
    return (f"Pregnancy is outside both models' data (Alghamdi 2019, Resendiz-Galvan 2025; "
            f"{gestation_text(patient)})")


OBESITY_BMI_KG_M2 = 30.0  # WHO obesity threshold: the adjusted-weight estimate is shown from here


# ---- renal function and age group for a validated Patient --------------------

AgeGroup = Literal["infant", "child", "adolescent", "adult"]
RenalMethod = Literal["measured", "cockcroft_gault", "bedside_schwartz", "dialysis", "unknown"]

ADULT_AGE_YEARS = 18.0
# BNFC bands: under 2 (no dose given), 2–12, 12–18 years.
CHILD_AGE_YEARS = 2.0
ADOLESCENT_AGE_YEARS = 12.0
SCHWARTZ_MIN_AGE_YEARS = 1.0  # Schwartz 2009 cohort: children aged 1–16 years

# KDIGO 2012 GFR categories (lower bound, label), highest first.
_KDIGO = ((90.0, "G1"), (60.0, "G2"), (45.0, "G3a"), (30.0, "G3b"), (15.0, "G4"), (0.0, "G5"))


def age_group(age_years: float) -> AgeGroup:
    """infant < 2 y, child 2–<12 y, adolescent 12–<18 y, adult >= 18 y (the BNFC age bands)."""
    if age_years < CHILD_AGE_YEARS:
        return "infant"
    if age_years < ADOLESCENT_AGE_YEARS:
        return "child"
    if age_years < ADULT_AGE_YEARS:
        return "adolescent"
    return "adult"


def kdigo_category(gfr_ml_min: float) -> str:
    """KDIGO 2012 GFR category G1–G5 for a clearance or eGFR (mL/min)."""
    for lower, label in _KDIGO:
        if gfr_ml_min >= lower:
            return label
    return "G5"


class RenalFunction(BaseModel):
    """Renal function used for screening and dosing, and how it was obtained."""

    model_config = ConfigDict(frozen=True)

    crcl_ml_min: float | None  # None when it cannot be known (no creatinine, or on dialysis)
    method: RenalMethod
    unit: str  # "mL/min" (CG, measured) or "mL/min/1.73 m²" (Schwartz)
    kdigo_category: str | None  # G1–G5, "G5D" on dialysis
    ckd_epi_ml_min_173m2: float | None  # adults only, shown alongside
    dialysis: Literal["none", "haemodialysis", "peritoneal"]
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # knowledge ids
    # A condition records kidney failure (ESRD, CKD stage 4-5, N18.4-N18.6): severe whatever
    # the creatinine estimate says (set by `renal_state.renal_state`).
    recorded_severe: bool = False
    # BMI >= 30 (adults): Cockcroft-Gault with adjusted body weight, shown beside the one used.
    crcl_adjusted_weight_ml_min: float | None = None

    @property
    def impaired(self) -> bool:
        """Renal impairment with the monograph's precaution: below 60 mL/min (KDIGO G3 or
        worse), severe, or on dialysis. 60–89 mL/min (G2) is information only."""
        if self.severe:
            return True
        return self.crcl_ml_min is not None and self.crcl_ml_min < RENAL_IMPAIRMENT_CRCL_ML_MIN

    @property
    def mildly_reduced(self) -> bool:
        """60–89 mL/min (KDIGO G2): an information note, no dose change (ATS)."""
        return (not self.impaired and self.crcl_ml_min is not None
                and self.crcl_ml_min < 90.0)

    @property
    def severe(self) -> bool:
        """CrCl < 30 mL/min, dialysis, or recorded kidney failure: the monograph's severe
        renal impairment."""
        if self.dialysis != "none" or self.recorded_severe:
            return True
        return self.crcl_ml_min is not None and self.crcl_ml_min < SEVERE_RENAL_CRCL_ML_MIN


def renal_function(patient: Patient) -> RenalFunction:
    """Dialysis, then a measured clearance, then CG (adults) or bedside Schwartz (children)."""
    scr = patient.serum_creatinine_mg_dl
    adult = patient.age_years >= ADULT_AGE_YEARS
    # Values are kept unrounded: rounding 29.98 to 30.0 would change the category.
    ckd_epi = (
        ckd_epi_2021_ml_min_173m2(patient.age_years, scr, patient.sex)
        if adult and scr is not None else None
    )
    notes: list[str] = []
    if patient.dialysis != "none":
        value = patient.measured_crcl_ml_min
        notes.append(
            f"on {DIALYSIS_LABEL[patient.dialysis]}: an estimate from serum creatinine is not "
            "meaningful; treated as severe renal impairment (KDIGO G5D)"
        )
        return RenalFunction(
            crcl_ml_min=value, method="dialysis", unit="mL/min", kdigo_category="G5D",
            ckd_epi_ml_min_173m2=None, dialysis=patient.dialysis, notes=tuple(notes),
            sources=("ext.kdigo_2012", "pk.dialysis"),
        )
    if patient.measured_crcl_ml_min is not None:
        value = patient.measured_crcl_ml_min
        notes.append("measured creatinine clearance given: it overrides the estimates")
        return RenalFunction(
            crcl_ml_min=value, method="measured", unit="mL/min",
            kdigo_category=kdigo_category(value), ckd_epi_ml_min_173m2=ckd_epi,
            dialysis="none", notes=tuple(notes), sources=("ext.kdigo_2012",),
        )
    if scr is None:
        notes.append("no serum creatinine: renal function unknown, renal rules cannot be checked")
        return RenalFunction(
            crcl_ml_min=None, method="unknown", unit="mL/min", kdigo_category=None,
            ckd_epi_ml_min_173m2=None, dialysis="none", notes=tuple(notes), sources=(),
        )
    if adult:
        value = cockcroft_gault_ml_min(patient.age_years, patient.weight_kg, scr, patient.sex)
        notes.append("Cockcroft–Gault with actual body weight (mL/min, not BSA-indexed)")
        if ckd_epi is not None:
            notes.append(f"CKD-EPI 2021 eGFR {ckd_epi:.1f} mL/min/1.73 m² shown alongside")
        adjusted = None
        sources: tuple[str, ...] = ("ext.cockcroft_gault_1976", "ext.ckd_epi_2021",
                                    "ext.kdigo_2012")
        if (patient.height_cm is not None
                and bmi_kg_m2(patient.weight_kg, patient.height_cm) >= OBESITY_BMI_KG_M2):
            abw = adjusted_body_weight_kg(patient.weight_kg, patient.height_cm, patient.sex)
            adjusted = cockcroft_gault_ml_min(patient.age_years, abw, scr, patient.sex)
            bmi = bmi_kg_m2(patient.weight_kg, patient.height_cm)
            notes.append(
                f"BMI {bmi:.1f} kg/m² (obese): Cockcroft–Gault {value:.0f} mL/min with actual "
                f"weight {patient.weight_kg:g} kg, {adjusted:.0f} mL/min with adjusted body "
                f"weight {abw:.1f} kg (ideal weight by Devine + 0.4 × excess). With actual "
                "weight the equation overestimates clearance in obesity: the renal rules and "
                "dose use the actual-weight value (the equation as published) and the "
                "adjusted value is shown as the lower estimate; if the two fall in different "
                "renal categories, measure creatinine clearance. The adjusted weight is common "
                "practice, not a single standard.")
            sources += ("ext.devine_1974", "ext.adjusted_body_weight")
        return RenalFunction(
            crcl_ml_min=value, method="cockcroft_gault", unit="mL/min",
            kdigo_category=kdigo_category(value), ckd_epi_ml_min_173m2=ckd_epi,
            dialysis="none", notes=tuple(notes), sources=sources,
            crcl_adjusted_weight_ml_min=adjusted,
        )
    if patient.height_cm is None:
        notes.append("a child's eGFR (bedside Schwartz) needs height_cm: renal function unknown")
        return RenalFunction(
            crcl_ml_min=None, method="unknown", unit="mL/min/1.73 m²", kdigo_category=None,
            ckd_epi_ml_min_173m2=None, dialysis="none", notes=tuple(notes), sources=(),
        )
    value = bedside_schwartz_ml_min_173m2(patient.height_cm, scr)
    notes.append("bedside Schwartz eGFR (mL/min/1.73 m², enzymatic creatinine assumed)")
    if patient.age_years < SCHWARTZ_MIN_AGE_YEARS:
        # GFR matures over the first 2 years: a low value may be normal for age.
        notes.append("bedside Schwartz was derived in children aged 1–16 years; under 1 year "
                     "it is outside its validity and the KDIGO category is only indicative")
    return RenalFunction(
        crcl_ml_min=value, method="bedside_schwartz", unit="mL/min/1.73 m²",
        kdigo_category=kdigo_category(value), ckd_epi_ml_min_173m2=None, dialysis="none",
        notes=tuple(notes), sources=("ext.schwartz_2009", "ext.kdigo_2012"),
    )
