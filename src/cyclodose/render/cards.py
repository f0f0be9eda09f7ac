"""Assessment (+ what was read from FHIR) → CDS Hooks 2.0 cards.

The indicator comes from the finding's severity (render.severity), the regimen from the
Assessment's recommendation, the remarks from the reader's flags: nothing is recomputed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from cyclodose import __version__
from cyclodose.render.fhir_bundle import dosage_instruction, tdm_dosage_instructions
from cyclodose.render.severity import INDICATOR

if TYPE_CHECKING:
    from cyclodose import Assessment
    from cyclodose.interop.fhir import FhirReading

SUMMARY_MAX = 139  # CDS Hooks: "<140 characters"
TOPIC_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/card-topic"
OVERRIDE_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/override-reason"
OVERRIDE_REASONS = (
    ("benefit-outweighs-risk", "Benefit judged to outweigh the risk (specialist decision)"),
    ("monitored", "Close monitoring with plasma levels and psychiatric review in place"),
    ("record-incorrect", "The patient information behind this alert is incorrect"),
)


class CardLinks(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_page: str  # absolute URL
    smart_launch: str  # the app's launch URL (the EHR adds iss and launch)


class DraftOrder(BaseModel):
    """The draft cycloserine MedicationRequest a suggestion rewrites."""

    model_config = ConfigDict(frozen=True)

    resource: dict[str, Any]


def summary(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SUMMARY_MAX:
        return text
    cut = text[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _source(label: str, url: str, topic: str, display: str) -> dict[str, Any]:
    return {"label": f"cyclodose {__version__}: {label}", "url": url,
            "topic": {"system": TOPIC_SYSTEM, "code": topic, "display": display}}


def _links(links: CardLinks) -> list[dict[str, str]]:
    return [{"label": "Open the patient in cyclodose", "url": links.patient_page,
             "type": "absolute"},
            {"label": "Launch cyclodose (SMART)", "url": links.smart_launch, "type": "smart"}]


def _card(summary_text: str, indicator: str, detail: str, source: dict[str, Any],
          links: CardLinks, **extra: Any) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "summary": summary(summary_text), "indicator": indicator,
            "detail": detail, "source": source, "links": _links(links), **extra}


def _md_sources(refs: Iterable[Any]) -> str:
    return "\n".join(f"- {r.reference}" for r in refs)


def _finding_cards(a: Assessment, links: CardLinks, url: str) -> list[dict[str, Any]]:
    cards = []
    for f in a.findings:
        indicator = INDICATOR[f.severity]
        detail = (f"**{f.severity}** ({f.code})\n\n{f.message}\n\n**Sources**\n\n"
                  f"{_md_sources(f.sources)}")
        extra: dict[str, Any] = {}
        if indicator == "critical":
            extra["overrideReasons"] = [{"system": OVERRIDE_SYSTEM, "code": c, "display": d}
                                        for c, d in OVERRIDE_REASONS]
        cards.append(_card(f"Cycloserine: {f.message}", indicator, detail,
                           _source("screening", url, "finding", "Screening finding"), links,
                           **extra))
    return cards


def _input_cards(reading: FhirReading, links: CardLinks, url: str) -> list[dict[str, Any]]:
    return [_card(f.message, "warning", f"{f.message}\n\n(read from the EHR: "
                  f"{f.resource or 'no resource'})",
                  _source("EHR data", url, "input", "Data from the EHR"), links)
            for f in reading.flags if f.code != "not_read"]


def _regimen_detail(a: Assessment, reading: FhirReading) -> str:
    rec = a.recommendation
    lines = [f"**{rec.guideline}** ({rec.status})", ""]
    lines += [f"- {ph.label}: **{ph.dose_mg:g} mg** {ph.frequency} ({ph.capsules}), "
              f"{ph.daily_dose_mg:g} mg/day"
              + (f" for {ph.duration_days} days" if ph.duration_days is not None else "")
              for ph in rec.phases]
    lines += ["", "**Why**", ""] + [f"- {r}" for r in rec.rationale]
    lines += ["", "**Sources**", "", _md_sources(rec.sources)]
    not_read = [f.message for f in reading.flags if f.code == "not_read"]
    if not_read:
        lines += ["", f"_{not_read[0]}_"]
    return "\n".join(lines)


def _suggestion(draft: DraftOrder, dosage: list[dict[str, Any]], label: str,
                description: str) -> dict[str, Any]:
    order = dict(draft.resource)
    order["dosageInstruction"] = dosage
    return {"suggestions": [{
        "label": label, "uuid": str(uuid.uuid4()), "isRecommended": True,
        "actions": [{"type": "update", "resource": order,
                     "description": "Rewrite the draft order's dosage to " + description}]}],
        "selectionBehavior": "at-most-one"}


def _regimen_card(a: Assessment, reading: FhirReading, draft: DraftOrder | None,
                  links: CardLinks, url: str, title: str, lead: bool) -> dict[str, Any] | None:
    """The guideline regimen: the recommendation without levels, a reference with them."""
    rec = a.recommendation
    if not rec.phases:
        return None
    first = rec.phases[0]
    text = (f"Recommended cycloserine: {first.dose_mg:g} mg {first.frequency}"
            f" ({first.daily_dose_mg:g} mg/day, {first.label})")
    if not lead:
        text = f"{title}: {first.dose_mg:g} mg {first.frequency}"
    elif rec.status != "recommended":
        text = f"Not recommended ({rec.status}); if given: {first.dose_mg:g} mg {first.frequency}"
    extra: dict[str, Any] = {}
    if draft is not None and lead and rec.status == "recommended":
        extra = _suggestion(draft, [dosage_instruction(ph, i + 1)
                                    for i, ph in enumerate(rec.phases)],
                            "Use the recommended regimen",
                            "; then ".join(f"{ph.dose_mg:g} mg {ph.frequency}"
                                           for ph in rec.phases))
    detail = _regimen_detail(a, reading)
    if not lead:
        detail = f"_{title}._ {a.lead.headline}\n\n{detail}"
    return _card(text, "info", detail,
                 _source("dosing", url, "dosing", "Dosing recommendation"), links, **extra)


def _tdm_card(a: Assessment, draft: DraftOrder | None, links: CardLinks, url: str,
              title: str) -> dict[str, Any]:
    """The TDM result when levels exist: the lead card, the only one with a suggestion."""
    lead, rec = a.lead, a.lead_tdm
    lines = [f"**{title}**", "", lead.headline, "", lead.reason]
    extra: dict[str, Any] = {}
    if rec is not None:
        lines += ["", rec.reason, "", f"Model {rec.model.name} v{rec.model.version}: "
                  f"{rec.model.citation}"]
        lines += ["", "**Caution**", ""] + [f"- {w}" for w in rec.warnings] if rec.warnings else []
        if draft is not None and rec.status == "recommended":
            extra = _suggestion(draft, tdm_dosage_instructions(rec),
                                "Use the TDM regimen (from the measured levels)", rec.regimen)
    indicator = "info" if lead.status == "recommended" else "warning"
    return _card(f"Cycloserine {lead.headline}", indicator, "\n".join(lines),
                 _source("TDM", url, "tdm", "TDM result from the measured levels"), links,
                 **extra)


def cards(a: Assessment, reading: FhirReading, *, links: CardLinks, source_url: str,
          draft: DraftOrder | None = None) -> list[dict[str, Any]]:
    """Critical and warning cards first (findings, then EHR data remarks), then the regimen
    cards in the assessment's lead order: with levels the TDM result first (the only one that
    suggests a change), the guideline regimen after it for reference."""
    out = _finding_cards(a, links, source_url) + _input_cards(reading, links, source_url)
    order = {"critical": 0, "warning": 1, "info": 2}
    out.sort(key=lambda c: order[c["indicator"]])
    for section in a.lead.sections:
        lead = section.role == "lead"
        card = (_tdm_card(a, draft, links, source_url, section.title) if section.name == "tdm"
                else _regimen_card(a, reading, draft, links, source_url, section.title, lead)
                if section.name == "guideline" else None)
        if card is not None:
            out.append(card)
    return out


def problem_card(problems: Iterable[Any], links: CardLinks, source_url: str) -> dict[str, Any]:
    """The EHR's data could not be used: say what and where, never stay silent."""
    items = list(problems)
    detail = "cyclodose could not assess this order from the EHR's data:\n\n" + "\n".join(
        f"- `{p.field}`: {p.reason}" for p in items)
    return _card(f"cyclodose cannot assess cycloserine: {len(items)} problem(s) in the EHR data",
                 "warning", detail, _source("EHR data", source_url, "input", "Data from the EHR"),
                 links)
