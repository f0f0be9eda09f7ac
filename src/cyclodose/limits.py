"""The clinical limits, in one place: every module that caps a dose, marks a level or cuts
renal function at a threshold reads them from here."""

from __future__ import annotations

# Monograph (Uses and Administration) and US label: never above 1 g/day.
MAX_DAILY_DOSE_MG = 1000.0
# The highest weight-based daily dose of the guidelines cyclodose cites: WHO paediatric
# dosing 15-20 mg/kg/day (adults: ATS/CDC/IDSA 2003, 10-15 mg/kg/day, at most 1 g/day).
MAX_DAILY_DOSE_MG_PER_KG = 20.0
# Monograph (Precautions), US label: keep plasma concentrations below 30 µg/mL.
CEILING_MG_L = 30.0
# Severe renal impairment: creatinine clearance below 30 mL/min (monograph, contraindication
# in severe renal impairment; ATS/CDC/IDSA 2003 renal dosing below 30 mL/min).
SEVERE_RENAL_CRCL_ML_MIN = 30.0
# UK TB drug monographs (cycloserine): the risk of CNS toxicity rises with peaks above 35 mg/L.
CNS_RISK_MG_L = 35.0
