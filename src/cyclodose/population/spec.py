"""The population spec: who the virtual patients are, as a validated document.

A spec names the PK model, the number of patients, the seed, and where the
covariates come from: parametric distributions (normal, log-normal, uniform or
constant, each optionally truncated to [min, max]) joined by a Gaussian copula
(`correlations`), and/or columns resampled with replacement from a CSV of real
patients (`resample`). Bad input raises CaseError naming the field.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cyclodose.errors import CaseError, Problem
from cyclodose.intake.documents import read_document

Dist = Literal["normal", "lognormal", "uniform", "constant", "bernoulli"]
# The per-patient Cmax, Cmin and AUC24 kept for medians take 24 bytes per patient and
# regimen: 10 million patients x 12 regimens is 2.9 GB. Larger runs: split the seed.
MAX_POPULATION = 10_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class CovariateDist(_Strict):
    """One covariate's marginal distribution.

    normal: `mean`, `sd` on the natural scale. lognormal: `mean`, `sd` of the
    variable itself (not of its log). uniform: between `min` and `max`.
    constant: `value`. bernoulli: 1 with probability `p`, else 0 (e.g. `male`).
    `min`/`max` truncate normal and log-normal draws (the
    tails are cut and the mass renormalised, never clipped onto the bound).
    """

    dist: Dist
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    value: float | None = None
    p: float | None = Field(default=None, ge=0, le=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _complete(self) -> CovariateDist:
        d = self.dist
        if d in ("normal", "lognormal") and (self.mean is None or self.sd is None):
            raise ValueError(f"a {d} distribution needs mean and sd")
        if d == "lognormal" and self.mean is not None and self.mean <= 0:
            raise ValueError("a lognormal distribution needs mean > 0")
        if d == "uniform" and (self.min is None or self.max is None):
            raise ValueError("a uniform distribution needs min and max")
        if d == "constant" and self.value is None:
            raise ValueError("a constant needs value")
        if d == "bernoulli" and self.p is None:
            raise ValueError("a bernoulli covariate needs p (probability of 1)")
        if d != "bernoulli" and self.p is not None:
            raise ValueError("p is only for dist: bernoulli")
        if d in ("bernoulli", "constant") and (self.min is not None or self.max is not None):
            raise ValueError(f"min/max do not apply to dist: {d}")
        if d != "constant" and self.value is not None:
            raise ValueError("value is only for dist: constant")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if d == "normal" and (self.min is None or self.min < 0):
            # Body size, age and renal function are never negative; an untruncated
            # normal reaches negative values in a large population.
            raise ValueError("a normal distribution needs min >= 0 (set the lower truncation)")
        if d == "lognormal" and self.min is not None and self.min < 0:
            raise ValueError("min must be >= 0")
        if d == "uniform" and self.min is not None and self.min < 0:
            raise ValueError("min must be >= 0")
        if d == "constant" and self.value is not None and self.value < 0:
            raise ValueError("value must be >= 0")
        return self


class Correlation(_Strict):
    """Correlation of the copula's latent normals (Pearson for normal marginals;
    Spearman ≈ 6/π·asin(rho/2) for any marginals)."""

    a: str
    b: str
    rho: float = Field(gt=-1, lt=1)


class ResampledData(_Strict):
    """Real-patient covariates read from a CSV: one float64 column per name."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    source: str
    columns: dict[str, Any]  # name -> 1-D float64 numpy array, all the same length

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values())))


class PopulationSpec(_Strict):
    n: int = Field(gt=0, le=MAX_POPULATION)
    seed: int = Field(ge=0)
    model: str = "alghamdi2019"
    bsv: bool = Field(default=True,
                      description="between-subject variability; false = typical values")
    covariates: dict[str, CovariateDist] = Field(default_factory=dict)
    correlations: list[Correlation] = Field(default_factory=list)
    resample: str | None = Field(default=None, description="CSV of real patients (path)")
    resampled: ResampledData | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> PopulationSpec:
        names = set(self.covariates)
        for i, c in enumerate(self.correlations):
            for side in ("a", "b"):
                name = getattr(c, side)
                if name not in names:
                    raise ValueError(f"correlations[{i}].{side}: {name!r} is not a covariate")
                if self.covariates[name].dist == "constant":
                    raise ValueError(f"correlations[{i}].{side}: {name!r} is a constant")
            if c.a == c.b:
                raise ValueError(f"correlations[{i}]: a and b are the same covariate")
        pairs = [frozenset((c.a, c.b)) for c in self.correlations]
        if len(set(pairs)) != len(pairs):
            raise ValueError("correlations: a pair is given twice")
        if self.resampled is not None:
            both = names & set(self.resampled.columns)
            if both:
                raise ValueError(
                    f"resample: {sorted(both)} are both resampled and given a distribution")
        if not names and self.resampled is None:
            raise ValueError("covariates: give covariates, resample, or both")
        return self

    @property
    def covariate_names(self) -> list[str]:
        extra = list(self.resampled.columns) if self.resampled is not None else []
        return list(self.covariates) + extra


# ---- parsing --------------------------------------------------------------


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        s = str(p)
        out += f"[{s}]" if isinstance(p, int) else (f".{s}" if out else s)
    return out or "population"


def _problems(exc: ValidationError) -> list[Problem]:
    probs = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = _field(tuple(err["loc"]))
        # A model-level message may name a finer field itself ("correlations[0].a: ...").
        if ": " in msg and field == "population" and msg.split(": ", 1)[0][:1].isalpha():
            head, msg = msg.split(": ", 1)
            if " " not in head:
                field = head
        probs.append(Problem(field, msg))
    return probs


def read_resample_csv(path: Path) -> ResampledData:
    """Numeric covariate columns of a CSV (header row = covariate names)."""
    if not path.is_file():
        raise CaseError.single("resample", f"file not found: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise CaseError.single("resample",
                               f"{path.name}: needs a header row and at least one patient")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise CaseError.single("resample",
                               f"{path.name}: column names must be unique and non-empty")
    columns: dict[str, list[float]] = {h: [] for h in header}
    problems: list[Problem] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem("resample", f"{path.name} line {line_no}: "
                                    f"{len(row)} cells, header has {len(header)}"))
            continue
        for h, cell in zip(header, row, strict=True):
            try:
                x = float(cell)
            except ValueError:
                problems.append(Problem(f"resample.{h}", f"{path.name} line {line_no}: "
                                        f"{cell!r} is not a number"))
                continue
            if not math.isfinite(x) or x < 0:
                problems.append(Problem(f"resample.{h}", f"{path.name} line {line_no}: "
                                        f"{cell!r} must be a finite number >= 0"))
            columns[h].append(x)
    if problems:
        raise CaseError(problems[:20])
    return ResampledData(source=str(path),
                         columns={h: np.asarray(v, dtype=np.float64) for h, v in columns.items()})


def parse_population_spec(data: Any, base_dir: Path | None = None) -> PopulationSpec:
    """Validate a spec mapping; a `resample` path is read relative to base_dir."""
    if not isinstance(data, dict):
        raise CaseError.single("population", "a population spec must be a mapping (n, seed, ...)")
    data = dict(data)
    if "resampled" in data:
        raise CaseError.single("resampled", "not a spec field (use resample: FILE.csv)")
    if data.get("resample") is not None:
        if not isinstance(data["resample"], str):
            raise CaseError.single("resample", "must be a path to a CSV file")
        path = Path(data["resample"])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        data["resampled"] = read_resample_csv(path)
    try:
        return PopulationSpec.model_validate(data)
    except ValidationError as exc:
        raise CaseError(_problems(exc)) from None


def load_population_spec(path: str | Path) -> PopulationSpec:
    """Read a YAML (or JSON) population spec file."""
    p = Path(path)
    return parse_population_spec(read_document(p, "population"), base_dir=p.parent)
