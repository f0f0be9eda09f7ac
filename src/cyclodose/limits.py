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
# Renal impairment with the monograph's precaution (lower doses, weekly levels): CrCl below
# 60 mL/min. 60–89 mL/min is mildly decreased function (KDIGO 2012 G2; FDA 2020 renal PK
# guidance "mild"), an information note only: ATS/CDC/IDSA 2003 and J Thorac Dis 2018 Table 4
# change nothing at CrCl 30 mL/min or more.
RENAL_IMPAIRMENT_CRCL_ML_MIN = 60.0
# No section presents as recommended a regimen whose predicted probability of a peak above
# CEILING_MG_L exceeds this: more likely toxic than not (a policy of this tool, from the
# monograph's 30 µg/mL ceiling and the US label; not a published threshold).
MAX_P_PEAK_ABOVE_CEILING = 0.5
# UK TB drug monographs (cycloserine): the risk of CNS toxicity rises with peaks above 35 mg/L.
CNS_RISK_MG_L = 35.0
