"""Screening: the rules in `knowledge/data/rules.yaml` applied to a case → findings.

A rule names a predicate (a small pure function below) and its parameters;
`any`/`all`/`not` combine predicates. A predicate returns evidence (strings
used in the message template) when it holds, or None. Adding a rule that
reuses existing predicates needs no code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from cyclodose.clinical.dosing import max_24h_dose_mg
from cyclodose.clinical.patient import DIALYSIS_LABEL, RenalFunction, gestation
from cyclodose.clinical.vocabulary import Vocabulary
from cyclodose.intake.case import Case, Level
from cyclodose.intake.units import sig3
from cyclodose.knowledge.citations import SourceRef, cite_all

Severity = Literal["contraindicated", "avoid", "warning", "caution", "info"]
SEVERITY_ORDER: tuple[Severity, ...] = ("contraindicated", "avoid", "warning", "caution", "info")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    sources: tuple[SourceRef, ...]


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    when: dict[str, Any]
    message: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Context:
    """What the predicates look at: the case plus facts derived from it."""

    case: Case
    renal: RenalFunction
    vocabulary: Vocabulary

    @cached_property
    def max_24h_mg(self) -> float:
        return max_24h_dose_mg(self.case.doses)


Evidence = dict[str, str]
Predicate = Callable[[Context, Any], Evidence | None]


_METHOD_LABEL = {"cockcroft_gault": "Cockcroft–Gault", "bedside_schwartz": "bedside Schwartz",
                 "measured": "measured clearance"}


def _renal_text(ctx: Context) -> str:
    r = ctx.renal
    if r.dialysis != "none":
        return f"on {DIALYSIS_LABEL[r.dialysis]}"
    if r.crcl_ml_min is None:
        return "no usable creatinine or clearance"
    return f"{r.crcl_ml_min:.1f} {r.unit}, {_METHOD_LABEL.get(r.method, r.method)}"


def _p_condition(ctx: Context, concepts: list[str]) -> Evidence | None:
    hits = [r.text for r in ctx.vocabulary.of("condition") if r.concept in concepts]
    return {"matched": ", ".join(hits)} if hits else None


def _p_comedication(ctx: Context, concepts: list[str]) -> Evidence | None:
    hits = [r.text for r in ctx.vocabulary.of("comedication") if r.concept in concepts]
    return {"matched": ", ".join(hits)} if hits else None


def _p_comedication_class(ctx: Context, classes: list[str]) -> Evidence | None:
    hits = [f"{r.text} ({r.drug_class})" for r in ctx.vocabulary.of("comedication")
            if r.drug_class in classes]
    return {"matched": ", ".join(hits)} if hits else None


def _p_antituberculous(ctx: Context, expected: bool) -> Evidence | None:
    hits = [r.text for r in ctx.vocabulary.of("comedication") if r.antituberculous]
    return {"matched": ", ".join(hits)} if bool(hits) == expected else None


def _p_symptom_category(ctx: Context, category: str | list[str]) -> Evidence | None:
    wanted = [category] if isinstance(category, str) else category
    hits = [r.text for r in ctx.vocabulary.of("symptom") if r.category in wanted]
    return {"matched": ", ".join(hits)} if hits else None


def _p_alcohol(ctx: Context, levels: list[str]) -> Evidence | None:
    a = ctx.case.patient.alcohol
    return {"matched": f"alcohol: {a}"} if a in levels else None


def _p_flag(ctx: Context, name: str) -> Evidence | None:
    if name not in ("pregnant", "breastfeeding"):
        raise ValueError(f"unknown patient flag {name!r}")
    return {"matched": name} if getattr(ctx.case.patient, name) else None


def _p_pregnancy(ctx: Context, expected: bool) -> Evidence | None:
    """Pregnant (the flag, with the week or trimester) or a pregnancy among the conditions."""
    p = ctx.case.patient
    recorded = _p_condition(ctx, ["pregnancy"])
    found: Evidence | None = None
    if p.pregnant and (p.gestational_week or p.trimester or recorded is None):
        found = {"matched": "pregnant", "gestation": gestation(p)}
    elif recorded is not None:  # the condition as written may carry the week ("24 weeks")
        found = {**recorded, "gestation": f"recorded as: {recorded['matched']}"}
    if expected:
        return found
    return {} if found is None else None


def _p_dialysis(ctx: Context, kinds: list[str]) -> Evidence | None:
    if ctx.renal.dialysis not in kinds:
        return None
    return {"matched": _renal_text(ctx), "renal": _renal_text(ctx)}


def _p_crcl_below(ctx: Context, limit_ml_min: float) -> Evidence | None:
    v = ctx.renal.crcl_ml_min
    if ctx.renal.dialysis != "none" or v is None or v >= limit_ml_min:
        return None
    return {"matched": _renal_text(ctx), "renal": _renal_text(ctx)}


def _p_crcl_between(ctx: Context, bounds: list[float]) -> Evidence | None:
    lo, hi = bounds
    v = ctx.renal.crcl_ml_min
    # A recorded kidney failure (ESRD, CKD 5) is severe whatever the creatinine estimate says.
    if ctx.renal.severe or v is None or not lo <= v < hi:
        return None
    return {"matched": _renal_text(ctx), "renal": _renal_text(ctx)}


def _p_renal_impaired(ctx: Context, expected: bool) -> Evidence | None:
    if ctx.renal.impaired != expected:
        return None
    return {"matched": f"renal function {_renal_text(ctx)}", "renal": _renal_text(ctx)}


def _p_on_treatment(ctx: Context, expected: bool) -> Evidence | None:
    on = bool(ctx.case.doses)
    return {"matched": f"on treatment, up to {ctx.max_24h_mg:.0f} mg in 24 h"} if on == expected \
        else None


def _p_renal_unknown(ctx: Context, expected: bool) -> Evidence | None:
    unknown = ctx.renal.method == "unknown"
    return {"renal": _renal_text(ctx)} if unknown == expected else None


def _dose_evidence(ctx: Context) -> Evidence:
    return {"matched": f"regimen up to {ctx.max_24h_mg:.0f} mg in 24 h",
            "max_24h_mg": f"{ctx.max_24h_mg:.0f}"}


def _p_max_24h_at_least(ctx: Context, limit_mg: float) -> Evidence | None:
    return _dose_evidence(ctx) if ctx.max_24h_mg >= limit_mg else None


def _p_max_24h_above(ctx: Context, limit_mg: float) -> Evidence | None:
    return _dose_evidence(ctx) if ctx.max_24h_mg > limit_mg else None


def level_text(lv: Level) -> str:
    """A measured level to 3 significant figures, with the value as entered when converted."""
    assert lv.conc_mg_l is not None
    text = f"{sig3(lv.conc_mg_l)} mg/L"
    return f"{text} (entered as {lv.entered})" if lv.entered else text


def _p_level_above(ctx: Context, limit_mg_l: float) -> Evidence | None:
    measured = [lv for lv in ctx.case.levels if lv.conc_mg_l is not None]
    if not measured:
        return None
    top = max(measured, key=lambda lv: lv.conc_mg_l or 0.0)
    assert top.conc_mg_l is not None
    if top.conc_mg_l <= limit_mg_l:
        return None
    return {"matched": f"level {level_text(top)}", "max_level": level_text(top),
            "max_level_mg_l": sig3(top.conc_mg_l)}


def _p_level_unit_implausible(ctx: Context, above_mg_l: float) -> Evidence | None:
    """A converted level implausibly high in mg/L whose number, read as mg/L, is plausible."""
    hits = [lv for lv in ctx.case.levels
            if lv.conc_mg_l is not None and lv.entered_value is not None
            and lv.conc_mg_l > above_mg_l >= lv.entered_value]
    if not hits:
        return None
    return {"matched": "; ".join(level_text(lv) for lv in hits),
            "as_mg_l": "; ".join(f"{lv.entered_value:g} mg/L" for lv in hits),
            "above": f"{above_mg_l:g}"}


# A level this long after the dose before it is read as a peak-time level (peak 2-6 h,
# later with delayed absorption: US label, Peloquin); outside it a low value is expected.
PEAK_TIME_H = (1.0, 8.0)
# A peak-time level at least this long after its dose sees a delayed peak (the optional 6 h
# sample of the TDM reviews, Alsultan & Peloquin 2014); with none, a low level cannot tell
# fast elimination from delayed absorption.
LATE_SAMPLE_H = 4.0


@dataclass(frozen=True)
class _LowLevels:
    hits: list[str]  # the low peak-time levels and the levels below quantification
    late: bool  # a level LATE_SAMPLE_H-PEAK_TIME_H[1] after a dose exists


def _low_levels(ctx: Context) -> _LowLevels:
    low = ctx.case.target.peak_low_mg_l
    dose_times = sorted(d.time_h for d in ctx.case.given_doses)
    hits: list[str] = []
    late = False
    for lv in ctx.case.levels:
        before = [t for t in dose_times if t <= lv.time_h]
        tad = lv.time_h - before[-1] if before else None
        when = "before any recorded dose" if tad is None else f"{tad:.3g} h after a dose"
        if tad is not None and LATE_SAMPLE_H <= tad <= PEAK_TIME_H[1]:
            late = True
        if lv.conc_mg_l is None:
            lloq = f", < {sig3(lv.lloq_mg_l)} mg/L," if lv.lloq_mg_l is not None else ""
            hits.append(f"a level below the limit of quantification{lloq} {when}")
        elif tad is not None and PEAK_TIME_H[0] <= tad <= PEAK_TIME_H[1] and lv.conc_mg_l < low:
            hits.append(f"{level_text(lv)} {when}")
    return _LowLevels(hits, late)


def _p_level_below_target(ctx: Context, _: Any) -> Evidence | None:
    """Peak-time levels below the target window, and levels below quantification."""
    found = _low_levels(ctx)
    if not found.hits:
        return None
    return {"matched": "; ".join(found.hits), "low": f"{ctx.case.target.peak_low_mg_l:g}",
            "high": f"{ctx.case.target.peak_high_mg_l:g}",
            "six_h": "" if found.late else "; take a 6 h level as well (no level "
                     f"{LATE_SAMPLE_H:g}-{PEAK_TIME_H[1]:g} h after a dose exists, and delayed "
                     "absorption puts the peak later)"}


def _p_only_early_levels(ctx: Context, expected: bool) -> Evidence | None:
    """Whether the case has levels but none LATE_SAMPLE_H-PEAK_TIME_H[1] after a dose."""
    early = bool(ctx.case.levels) and not _low_levels(ctx).late
    return {"late_from_h": f"{LATE_SAMPLE_H:g}", "late_to_h": f"{PEAK_TIME_H[1]:g}"} \
        if early == expected else None


PREDICATES: dict[str, Predicate] = {
    "condition": _p_condition,
    "comedication": _p_comedication,
    "comedication_class": _p_comedication_class,
    "antituberculous_comedication": _p_antituberculous,
    "symptom_category": _p_symptom_category,
    "alcohol": _p_alcohol,
    "flag": _p_flag,
    "pregnancy": _p_pregnancy,
    "dialysis": _p_dialysis,
    "crcl_below_ml_min": _p_crcl_below,
    "crcl_between_ml_min": _p_crcl_between,
    "renal_impaired": _p_renal_impaired,
    "renal_unknown": _p_renal_unknown,
    "on_treatment": _p_on_treatment,
    "regimen_max_24h_mg_at_least": _p_max_24h_at_least,
    "regimen_max_24h_mg_above": _p_max_24h_above,
    "level_above_mg_l": _p_level_above,
    "level_below_target": _p_level_below_target,
    "only_early_levels": _p_only_early_levels,
    "level_unit_implausible_above_mg_l": _p_level_unit_implausible,
}


def evaluate(when: dict[str, Any], ctx: Context) -> Evidence | None:
    """Evaluate a predicate tree: {name: params} | {any: [...]} | {all: [...]} | {not: {...}}."""
    if len(when) != 1:
        raise ValueError(f"a predicate node has exactly one key, got {sorted(when)}")
    (name, params), = when.items()
    if name == "any":
        hits = [e for e in (evaluate(w, ctx) for w in params) if e is not None]
        if not hits:
            return None
        merged: Evidence = {}
        for e in hits:
            for k, v in e.items():
                merged[k] = f"{merged[k]}; {v}" if k in merged and v not in merged[k] else v
        return merged
    if name == "all":
        together: Evidence = {}
        for w in params:
            part = evaluate(w, ctx)
            if part is None:
                return None
            together.update(part)
        return together
    if name == "not":
        return {} if evaluate(params, ctx) is None else None
    if name not in PREDICATES:
        raise ValueError(f"unknown predicate {name!r}")
    return PREDICATES[name](ctx, params)


def _check_tree(when: Any, code: str) -> None:
    if not isinstance(when, dict) or len(when) != 1:
        raise ValueError(f"rule {code}: a predicate node must be a one-key mapping")
    (name, params), = when.items()
    if name in ("any", "all"):
        for w in params:
            _check_tree(w, code)
    elif name == "not":
        _check_tree(params, code)
    elif name not in PREDICATES:
        raise ValueError(f"rule {code}: unknown predicate {name!r}")


@cache
def rules() -> tuple[Rule, ...]:
    """The rule table, validated (unique codes, known predicates)."""
    path = resources.files("cyclodose").joinpath("knowledge/data/rules.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = tuple(Rule.model_validate(r) for r in raw["rules"])
    codes = [r.code for r in table]
    if len(codes) != len(set(codes)):
        raise ValueError("rules.yaml: duplicate rule codes")
    for r in table:
        _check_tree(r.when, r.code)
    return table


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def screen(case: Case, renal: RenalFunction, vocabulary: Vocabulary) -> tuple[Finding, ...]:
    """Every rule that fires, most severe first (then in table order)."""
    ctx = Context(case=case, renal=renal, vocabulary=vocabulary)
    found: list[Finding] = []
    for rule in rules():
        evidence = evaluate(rule.when, ctx)
        if evidence is None:
            continue
        values = _Blank(evidence)
        values.setdefault("renal", _renal_text(ctx))
        found.append(Finding(
            code=rule.code, severity=rule.severity,
            message=" ".join(rule.message.format_map(values).split()),
            sources=cite_all(rule.sources),
        ))
    return tuple(sorted(found, key=lambda f: SEVERITY_ORDER.index(f.severity)))
