"""Clinical scenarios for a pharmacist's review (issue #9): each case is run through
`cyclodose.assess` and what the tool says is written with its sources, so the section of
`docs/validation.md` is generated from real runs, never typed by hand.

`python -m validation.scenarios docs/validation.md` rewrites that section only
(`make validate` regenerates the whole report, this section included)."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case
from cyclodose.workflows.assessment import Assessment, assess

SECTION = 5
HEADING = f"## {SECTION}. Clinical scenarios (issue #9)"
_ADULT: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 65, "height_cm": 172,
                          "serum_creatinine": {"value": 80, "unit": "umol/L"}}
_COMEDS = ["bedaquiline", "linezolid", "levofloxacin", "clofazimine"]
_ON = {"start": "2026-03-01T08:00:00", "count": 20, "interval_h": 12}


@dataclass(frozen=True)
class Scenario:
    title: str
    patient: dict[str, Any]
    extra: dict[str, Any]
    show: tuple[str, ...]  # finding codes to quote (prefix match); "" quotes none


def _doc(s: Scenario) -> dict[str, Any]:
    doc: dict[str, Any] = {"patient": {**copy.deepcopy(_ADULT), **s.patient},
                           "comedications": list(_COMEDS), "settings": {"start_date": "2026-03-02"}}
    for k, v in s.extra.items():
        doc[k] = {**doc[k], **v} if k == "settings" else v
    return doc


SCENARIOS = (
    Scenario("On 750 mg/day with tremor and confusion", {"symptoms": ["tremor", "confusion"]},
             {"regimen": {**_ON, "amount_mg": 375}}, ("precaution.neurotoxicity",)),
    Scenario("On treatment with a seizure", {"symptoms": ["seizure"]},
             {"regimen": {**_ON, "amount_mg": 250}}, ("contraindication.severe_neurotoxicity",)),
    Scenario("Infant 8 months, 7.5 kg, AAP", {"age_years": 0.67, "sex": "female", "weight_kg": 7.5,
             "height_cm": 68, "serum_creatinine": {"value": 0.3, "unit": "mg/dL"}},
             {"settings": {"paediatric_guideline": "AAP"}}, ("",)),
    Scenario("Child 3 years, 13 kg, only 250 mg capsules, BNFC", {"age_years": 3, "sex": "female",
             "weight_kg": 13, "height_cm": 94, "serum_creatinine": {"value": 0.29,
                                                                    "unit": "mg/dL"}},
             {"settings": {"paediatric_guideline": "BNFC", "capsule_strengths_mg": [250]}},
             ("",)),
    Scenario("ESRD recorded, post-dialysis creatinine 2.0 mg/dL (CG about 40 mL/min)",
             {"conditions": ["ESRD"], "serum_creatinine": {"value": 2.0, "unit": "mg/dL"}}, {},
             ("contraindication.severe_renal_impairment",)),
    Scenario("'ESRD on HD' recorded, dialysis field left at none", {"conditions": ["ESRD on HD"]},
             {}, ("",)),
    Scenario("Bipolar affective disorder (F31)", {"conditions": ["F31.3"]}, {},
             ("contraindication.bipolar_disorder",)),
    Scenario("Depression in remission", {"conditions": ["depression in remission"]}, {},
             ("contraindication.depression",)),
    Scenario("Previous suicide attempt", {"conditions": ["previous suicide attempt"]}, {},
             ("contraindication.self_harm_history",)),
    Scenario("Febrile convulsions in childhood", {"conditions": ["febrile convulsions in "
                                                                 "childhood"]}, {},
             ("caution.febrile_convulsions_history",)),
    Scenario("High-dose isoniazid written 'Hh'", {}, {"comedications": [*_COMEDS, "Hh"]},
             ("interaction.isoniazid",)),
    Scenario("Prothionamide", {}, {"comedications": [*_COMEDS, "prothionamide"]},
             ("interaction.prothionamide",)),
    Scenario("Efavirenz", {}, {"comedications": [*_COMEDS, "efavirenz"]}, ("caution.efavirenz",)),
    Scenario("CrCl 75 mL/min (KDIGO G2)", {"crcl_ml_min": 75, "serum_creatinine": None}, {},
             ("info.renal_mildly_reduced",)),
    Scenario("CrCl 45 mL/min", {"crcl_ml_min": 45, "serum_creatinine": None}, {},
             ("precaution.renal_impairment",)),
    Scenario("Pregnant, 24 weeks", {"sex": "female", "pregnant": True,
                                    "conditions": ["pregnant 24 weeks"]}, {}, ("info.pregnancy",)),
    Scenario("Pregnant, second trimester, week unknown", {"sex": "female", "pregnant": True,
                                                          "trimester": 2}, {},
             ("info.pregnancy",)),
    Scenario("Pregnant, trimester 1 recorded with gestational week 20",
             {"sex": "female", "pregnant": True, "gestational_week": 20, "trimester": 1}, {},
             ("",)),
    Scenario("Only a 2 h level, 8 mg/L, on 250 mg twice daily", {},
             {"regimen": {**_ON, "amount_mg": 250},
              "levels": [{"time": "2026-03-10T10:00:00", "value": 8.0, "unit": "mg/L"}]},
             ("level.",)),
    Scenario("A 2 h and a 6 h level, 16.2 and 14.1 mg/L", {},
             {"regimen": {**_ON, "amount_mg": 250},
              "levels": [{"time": "2026-03-10T10:00:00", "value": 16.2, "unit": "mg/L"},
                         {"time": "2026-03-10T14:00:00", "value": 14.1, "unit": "mg/L"}]},
             ("level.",)),
    Scenario("A 2 h level below quantification (< 2 mg/L)", {},
             {"regimen": {**_ON, "amount_mg": 250},
              "levels": [{"time": "2026-03-10T10:00:00", "value": None, "unit": "mg/L",
                          "blq": True, "lloq": 2.0}]},
             ("level.",)),
)


def _regimen(a: Assessment) -> list[str]:
    r = a.recommendation
    out = [f"Guideline regimen: **{r.status}** ({r.guideline})."]
    for ph in r.phases:
        line = f"{ph.label}: {ph.dose_mg:g} mg × {ph.doses_per_day}/day ({ph.capsules})"
        out.append(line + (f"; {ph.rounding}" if ph.rounding else "")
                   + (f"; {ph.note}" if ph.note else ""))
    for opt in r.alternatives:
        for ph in opt.phases:
            out.append(f"Alternative {opt.label}: {ph.dose_mg:g} mg × {ph.doses_per_day}/day"
                       + (f"; {ph.rounding}" if ph.rounding else ""))
    out.append(f"Why: {r.rationale[0]}")
    p = a.prediction
    if p is not None and p.current is not None:
        c = p.current
        out.append(f"Current regimen {c.regimen}: predicted peak median {c.peak_mg_l.median:.3g} "
                   f"mg/L (90 % interval {c.peak_mg_l.p05:.3g}–{c.peak_mg_l.p95:.3g}), "
                   f"{100 * c.p_peak_above_ceiling:.0f} % above 30 mg/L.")
    if p is not None:
        out.append(f"Model-informed section: **{p.status}**"
                   + (f", {p.regimen}" if p.regimen else "") + (f". {p.rationale[0]}"
                                                               if p.rationale else ""))
    return out


def _quoted(a: Assessment, codes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    said, sources = [], []
    for f in a.findings:
        if any(c and f.code.startswith(c) for c in codes):
            said.append(f"{f.severity.upper()} `{f.code}`: {f.message}")
            sources += [s.reference for s in f.sources]
    for s in a.recommendation.sources:
        sources.append(s.reference)
    return said, list(dict.fromkeys(sources))


def scenario_block(n: int, s: Scenario, run: Callable[[dict[str, Any]], Assessment]) -> list[str]:
    doc = _doc(s)
    change = {k: v for k, v in {"patient": s.patient, **s.extra}.items() if v}
    lines = [f"### {SECTION}.{n}. {s.title}", "", "Input: the base case (below) with", "",
             "```yaml",
             yaml.safe_dump(change, sort_keys=False, allow_unicode=True).rstrip()
             if change else "# no change", "```", "", "What the tool says:", ""]
    try:
        a = run(doc)
    except CaseError as exc:
        lines += [f"- Refused (exit 2 in the CLI, HTTP 422 in the service): {p}"
                  for p in exc.problems]
        return [*lines, ""]
    said, sources = _quoted(a, s.show)
    lines += [f"- {x}" for x in said + _regimen(a)]
    lines += ["", "Sources: " + "; ".join(sources), ""]
    return lines


def render_section() -> str:
    def run(doc: dict[str, Any]) -> Assessment:
        return assess(parse_case(doc), with_tdm=False)

    lines = [HEADING, "",
             "Generated from real runs of `cyclodose.assess` by `validation.scenarios` "
             "(part of `make validate`). Each scenario: the input, what the tool says (status, "
             "the finding it is about, the regimen and why), and the sources it cites. For a "
             "hospital pharmacist's review; sources marked \"not re-read\" in the knowledge "
             "data carry that caveat there.", "",
             "Base case: " + yaml.safe_dump(_doc(Scenario("", {}, {}, ())), sort_keys=False,
                                            default_flow_style=True, width=1000).strip(), ""]
    for n, s in enumerate(SCENARIOS, start=1):
        lines += scenario_block(n, s, run)
    return "\n".join(lines)


def splice(text: str, section: str | None = None) -> str:
    """`text` with the scenarios section replaced by `section` (rendered here when None),
    or appended; the sections after it are kept."""
    head, _, rest = text.partition(HEADING)
    tail = rest[rest.index("\n## ") + 1:] if "\n## " in rest else ""
    body = render_section() if section is None else section
    return head.rstrip() + "\n\n" + body + "\n" + ("\n" + tail if tail else "")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else Path("docs/validation.md")
    out.write_text(splice(out.read_text(encoding="utf-8") if out.exists() else ""),
                   encoding="utf-8")
    print(f"wrote {out} ({len(SCENARIOS)} clinical scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
