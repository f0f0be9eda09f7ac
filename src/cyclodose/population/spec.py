"""The population spec: who the virtual patients are, as a validated document.

A spec names the PK model, the number of patients, the seed, and where the
covariates come from: parametric distributions (normal, log-normal, uniform or
constant, each optionally truncated to [min, max]) joined by a Gaussian copula
(`correlations`), and/or columns resampled with replacement from a CSV of real
patients (`resample`). Bad input raises CaseError naming the field.
"""

from __future__ import annotations

import csv
import hashlib
import io
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
# 0/1 flags of pk.Covariates: only a constant 0 or 1, or a bernoulli draw, can describe them
BINARY_COVARIATES = ("male", "patient", "dialysis")
MAX_TAIL_SD = 1e4  # a truncation window further out than this is refused, not sampled
# CSV cells read as missing (case-insensitive); `id` columns carry no covariate
MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null", "."})
ID_COLUMNS = frozenset({"id"})
# `sex` column: M/male -> male = 1, F/female -> male = 0 (case-insensitive); anything else refused
SEX_CODES = {"m": 1.0, "male": 1.0, "f": 0.0, "female": 0.0}


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
        self._check_window()
        return self

    def _check_window(self) -> None:
        """Refuse a truncation window so far out that sampling it means nothing."""
        if self.dist not in ("normal", "lognormal"):
            return
        assert self.mean is not None and self.sd is not None
        mean, sd, lo, hi = self.mean, self.sd, self.min, self.max
        if self.dist == "lognormal":
            sigma = math.sqrt(math.log1p((sd / mean) ** 2))
            mean, sd = math.log(mean) - sigma**2 / 2.0, sigma
            lo = None if lo is None or lo <= 0 else math.log(lo)
            hi = None if hi is None else math.log(hi)
        for bound, side in ((lo, "min"), (hi, "max")):
            if bound is None:
                continue
            z = (bound - mean) / sd
            if (side == "min" and z > MAX_TAIL_SD) or (side == "max" and z < -MAX_TAIL_SD):
                raise ValueError(f"{side} lies {abs(z):.3g} SD from the mean: the window "
                                 "holds no mass of this distribution (check mean, sd and "
                                 f"{side})")


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
    sha256: str = ""
    dropped_lines: tuple[int, ...] = ()  # CSV line numbers dropped for a missing value
    ignored_columns: tuple[str, ...] = ()  # e.g. an `id` column
    sex_column: bool = False  # `male` was read from a `sex` column (M/F)

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
    resample_missing: Literal["drop", "refuse"] = Field(
        default="drop", description="rows with a missing value: dropped (counted) or refused")
    iov: bool = Field(default=False, description="sample one occasion's between-occasion "
                      "variability per patient (the occasion of the PTA)")
    resampled: ResampledData | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> PopulationSpec:
        names = set(self.covariates)
        drawn = set(self.resampled.columns) if self.resampled is not None else set()
        for name in BINARY_COVARIATES:
            dist = self.covariates.get(name)
            if dist is None:
                continue
            if dist.dist not in ("constant", "bernoulli"):
                raise ValueError(f"covariates.{name}.dist: {name} is 0 or 1; use dist: "
                                 "bernoulli (p) or dist: constant (value 0 or 1)")
            if dist.dist == "constant" and dist.value not in (0.0, 1.0):
                raise ValueError(f"covariates.{name}.value: {name} is 0 or 1, not "
                                 f"{dist.value:g}")
        for i, c in enumerate(self.correlations):
            for side in ("a", "b"):
                name = getattr(c, side)
                if name not in names and name not in drawn:
                    known = ", ".join(sorted(names | drawn)) or "none"
                    raise ValueError(f"correlations[{i}].{side}: {name!r} is neither a "
                                     f"parametric covariate nor a resampled column of this "
                                     f"spec (known: {known})")
                if name in names and self.covariates[name].dist == "constant":
                    raise ValueError(f"correlations[{i}].{side}: {name!r} is a constant")
            if c.a == c.b:
                raise ValueError(f"correlations[{i}]: a and b are the same covariate")
            if c.a in drawn and c.b in drawn:
                raise ValueError(f"correlations[{i}]: {c.a!r} and {c.b!r} are both resampled "
                                 "from the CSV, so their correlation is the data's own")
        pairs = [frozenset((c.a, c.b)) for c in self.correlations]
        if len(set(pairs)) != len(pairs):
            raise ValueError("correlations: a pair is given twice")
        if self.resampled is not None:
            both = names & drawn
            if both:
                raise ValueError(
                    f"resample: {sorted(both)} are both resampled and given a distribution")
        if not names and self.resampled is None:
            raise ValueError("covariates: give covariates, resample, or both")
        return self

    def weight_range_kg(self) -> tuple[float, float]:
        """The weights the population can hold (from the distribution or the CSV)."""
        if self.resampled is not None and "weight_kg" in self.resampled.columns:
            col = np.asarray(self.resampled.columns["weight_kg"])
            return float(col.min()), float(col.max())
        dist = self.covariates.get("weight_kg")
        if dist is None:
            return 0.0, math.inf
        if dist.dist == "constant":
            assert dist.value is not None
            return dist.value, dist.value
        return (dist.min if dist.min is not None else 0.0,
                dist.max if dist.max is not None else math.inf)

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


def problems_from(exc: ValidationError) -> list[Problem]:
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


def _cell(header: str, cell: str) -> float:
    """One CSV cell as a number; `sex` codes map to male = 1 / 0 (SEX_CODES)."""
    if header == "sex":
        code = SEX_CODES.get(cell.strip().lower())
        if code is None:
            raise ValueError("sex must be M, F, male or female")
        return code
    try:
        x = float(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not a number") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{cell!r} must be a finite number >= 0")
    if header in BINARY_COVARIATES and x not in (0.0, 1.0):
        raise ValueError(f"{header} is 0 or 1, not {cell!r}")
    return x


def read_resample_csv(path: Path, missing: str = "drop") -> ResampledData:
    """Covariate columns of a CSV (header row = covariate names).

    An `id` column is ignored; a `sex` column (M/F/male/female) becomes `male`
    (1/0); a row with a missing cell (MISSING_CELLS) is dropped and counted, or
    refused with its line number when missing == "refuse".
    """
    if not path.is_file():
        raise CaseError.single("resample", f"file not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CaseError.single("resample", f"{path.name} is not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2:
        raise CaseError.single("resample",
                               f"{path.name}: needs a header row and at least one patient")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise CaseError.single("resample",
                               f"{path.name}: column names must be unique and non-empty")
    lowered = [h.lower() for h in header]
    if "sex" in lowered and "male" in header:
        raise CaseError.single("resample", f"{path.name}: give sex or male, not both")
    names = ["sex" if low == "sex" else h for h, low in zip(header, lowered, strict=True)]
    keep = [i for i, h in enumerate(lowered) if h not in ID_COLUMNS]
    if not keep:
        raise CaseError.single("resample", f"{path.name}: no covariate columns")
    columns: dict[str, list[float]] = {names[i]: [] for i in keep}
    problems: list[Problem] = []
    dropped: list[int] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem("resample", f"{path.name} line {line_no}: "
                                    f"{len(row)} cells, header has {len(header)}"))
            continue
        if any(row[i].strip().lower() in MISSING_CELLS for i in keep):
            dropped.append(line_no)
            continue
        values: dict[str, float] = {}
        for i in keep:
            try:
                values[names[i]] = _cell(names[i], row[i])
            except ValueError as exc:
                problems.append(Problem(f"resample.{header[i]}",
                                        f"{path.name} line {line_no}: {exc}"))
        if len(values) == len(keep):
            for name, x in values.items():
                columns[name].append(x)
    if dropped and missing == "refuse":
        lines = ", ".join(str(n) for n in dropped[:20]) + (" ..." if len(dropped) > 20 else "")
        problems.append(Problem("resample", f"{path.name}: {len(dropped)} rows with a missing "
                                f"value (lines {lines}); fill them in or set "
                                "resample_missing: drop"))
    if problems:
        raise CaseError(problems[:20])
    if not next(iter(columns.values())):
        raise CaseError.single("resample", f"{path.name}: no complete row left")
    if "sex" in columns:
        columns["male"] = columns.pop("sex")
    return ResampledData(source=str(path), sha256=hashlib.sha256(raw).hexdigest(),
                         columns={h: np.asarray(v, dtype=np.float64) for h, v in columns.items()},
                         dropped_lines=tuple(dropped),
                         ignored_columns=tuple(header[i] for i in range(len(header))
                                               if i not in keep),
                         sex_column="sex" in names)


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
        missing = data.get("resample_missing", "drop")
        if missing not in ("drop", "refuse"):
            raise CaseError.single("resample_missing", "must be drop or refuse")
        data["resampled"] = read_resample_csv(path, missing=missing)
    try:
        return PopulationSpec.model_validate(data)
    except ValidationError as exc:
        raise CaseError(problems_from(exc)) from None


def load_population_spec(path: str | Path) -> PopulationSpec:
    """Read a YAML (or JSON) population spec file."""
    p = Path(path)
    return parse_population_spec(read_document(p, "population"), base_dir=p.parent)
