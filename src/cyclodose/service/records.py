"""Patient records as the API shows them, and the Case document a stored record makes.

No clinical rule here: a record is assembled into the same Case document a person would write,
and the core validates and assesses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, TypeAdapter

from cyclodose.intake.case import (
    CaseDocument,
    DoseIn,
    LevelIn,
    PatientIn,
    RegimenIn,
    SettingsIn,
    TargetIn,
    parse_case,
)
from cyclodose.service.clock_zone import to_wall, to_zone
from cyclodose.service.storage import EntryRow, PatientRevision, PatientRow

MRN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
Mrn = Field(min_length=1, max_length=64, pattern=MRN_PATTERN, description="medical record number")
Name = Field(min_length=1, max_length=200)

DoseEntry = DoseIn | RegimenIn  # one dose, or a repeating regimen (or a list of doses)
_dose_adapter: TypeAdapter[DoseEntry] = TypeAdapter(DoseEntry)


class PatientCreate(BaseModel):
    mrn: str = Mrn
    name: str = Name
    patient: PatientIn
    comedications: list[str] = Field(default_factory=list)
    target: TargetIn = Field(default_factory=TargetIn)
    settings: SettingsIn = Field(default_factory=SettingsIn)


class PatientPatch(BaseModel):
    """Fields to correct; `reason` is kept with the old value."""

    reason: str = Field(min_length=1, max_length=1000)
    mrn: str | None = Field(default=None, min_length=1, max_length=64, pattern=MRN_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    patient: PatientIn | None = None
    comedications: list[str] | None = None
    target: TargetIn | None = None
    settings: SettingsIn | None = None


class EnteredInError(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class Entry(BaseModel):
    id: int
    entered_at: datetime
    entered_by: str
    in_error: bool
    error_reason: str | None
    error_at: datetime | None
    error_by: str | None


class DoseRecord(Entry):
    dose: DoseEntry


class LevelRecord(Entry):
    level: LevelIn


class Revision(BaseModel):
    """A value a correction replaced."""

    version: int
    mrn: str
    name: str
    record: CaseFields
    replaced_at: datetime
    replaced_by: str
    reason: str


class CaseFields(BaseModel):
    patient: PatientIn
    comedications: list[str]
    target: TargetIn
    settings: SettingsIn


class PatientSummary(BaseModel):
    id: int
    mrn: str
    name: str
    version: int
    updated_at: datetime


class PatientRecord(PatientSummary):
    patient: PatientIn
    comedications: list[str]
    target: TargetIn
    settings: SettingsIn
    created_at: datetime
    created_by: str
    updated_by: str
    doses: list[DoseRecord]
    levels: list[LevelRecord]
    revisions: list[Revision]


Revision.model_rebuild()


def case_fields(body: PatientCreate | CaseFields) -> dict[str, Any]:
    return CaseFields(patient=body.patient, comedications=body.comedications,
                      target=body.target, settings=body.settings).model_dump(mode="json")


def dose_of(row: EntryRow) -> DoseEntry:
    return _dose_adapter.validate_python(row.data)


def level_of(row: EntryRow) -> LevelIn:
    return LevelIn.model_validate(row.data)


def _entry(row: EntryRow, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": row.id, "entered_at": row.entered_at.astimezone(zone),
            "entered_by": row.entered_by, "in_error": row.in_error,
            "error_reason": row.error_reason,
            "error_at": row.error_at.astimezone(zone) if row.error_at else None,
            "error_by": row.error_by}


def summary(p: PatientRow, zone: ZoneInfo) -> PatientSummary:
    return PatientSummary(id=p.id, mrn=p.mrn, name=p.name, version=p.version,
                          updated_at=p.updated_at.astimezone(zone))


def record(p: PatientRow, entries: list[EntryRow], revisions: list[PatientRevision],
           zone: ZoneInfo) -> PatientRecord:
    fields = to_zone(CaseFields.model_validate(p.record), zone)
    doses = [DoseRecord(dose=to_zone(dose_of(e), zone), **_entry(e, zone))
             for e in entries if e.kind == "dose"]
    levels = [LevelRecord(level=to_zone(level_of(e), zone), **_entry(e, zone))
              for e in entries if e.kind == "level"]
    revs = [Revision(version=r.version, mrn=r.mrn, name=r.name,
                     record=to_zone(CaseFields.model_validate(r.record), zone),
                     replaced_at=r.replaced_at.astimezone(zone), replaced_by=r.replaced_by,
                     reason=r.reason) for r in revisions]
    return PatientRecord(
        id=p.id, mrn=p.mrn, name=p.name, version=p.version,
        updated_at=p.updated_at.astimezone(zone), patient=fields.patient,
        comedications=fields.comedications, target=fields.target, settings=fields.settings,
        created_at=p.created_at.astimezone(zone), created_by=p.created_by,
        updated_by=p.updated_by, doses=doses, levels=levels, revisions=revs)


def _expanded(fields: CaseFields, regimen: RegimenIn) -> list[DoseIn]:
    """The doses a repeating regimen stands for, as the core expands them (missed doses out),
    so several regimens over time can be combined into one dose history."""
    case = parse_case(CaseDocument(patient=fields.patient, regimen=regimen))
    if case.t0 is None:
        return []
    # float hours back to a time: whole seconds, as a person writes them
    return [DoseIn(time=case.t0 + timedelta(seconds=round(d.time_h * 3600)),
                   amount_mg=d.amount_mg) for d in case.doses]


def case_document(fields: CaseFields, doses: list[DoseEntry], levels: list[LevelIn],
                  zone: ZoneInfo) -> CaseDocument:
    """The Case document for a record: active doses and levels only, in clinic wall time."""
    fields = to_wall(fields, zone)
    explicit: list[DoseIn] = []
    for entry in doses:
        wall = to_wall(entry, zone)
        if isinstance(wall, DoseIn):
            explicit.append(wall)
        else:
            explicit.extend(_expanded(fields, wall))
    explicit.sort(key=lambda d: d.time)
    return CaseDocument(
        patient=fields.patient, comedications=fields.comedications,
        regimen=RegimenIn(doses=explicit) if explicit else None,
        levels=[to_wall(lv, zone) for lv in levels], target=fields.target,
        settings=fields.settings)
