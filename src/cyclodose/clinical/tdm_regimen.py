"""Stage 8: the best regimen from the capsules that exist, for this patient's posterior.

Each candidate of the grid (cyclodose.clinical.candidates; never above 1 g/day) is
simulated at steady state for every posterior draw. Without an MIC the
objective is P(steady-state peak inside the target window); with an MIC it is
P(%T>MIC ≥ goal and peak ≤ the 30 mg/L ceiling), so efficacy is never bought
with toxicity. Ties (`regimen_policy.rank_key`, 1 percentage point) go to the lower
P(peak > 30 mg/L), then fewer capsules, then the lower daily dose. `regimen_policy.choose`
then picks the regimen to recommend (divided doses, practical schedules first within a
margin) and `reason` says why.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cyclodose.clinical.candidates import candidate_grid, fewest_capsules
from cyclodose.clinical.regimen_policy import (
    TIE_PROBABILITY,
    Option,
    Schedule,
    rank_key,
    schedule_of,
)
from cyclodose.intake.case import Case, Target
from cyclodose.limits import CEILING_MG_L, MAX_DAILY_DOSE_MG
from cyclodose.tdm.forecast import CREDIBLE_LEVEL
from cyclodose.tdm.preprocess import FloatArray
from cyclodose.tdm.quantiles import percentiles


@dataclass(frozen=True)
class CandidateRegimen:
    """One regimen of the grid in the form the optimiser needs."""

    label: str
    period_h: float
    offsets_h: tuple[float, ...]
    amounts_mg: tuple[float, ...]
    daily_dose_mg: float
    capsules_per_administration: tuple[int, ...]
    capsules: tuple[str, ...] = ()  # per administration, e.g. ("2 × 250 mg",)

    @property
    def capsules_per_day(self) -> float:
        return sum(self.capsules_per_administration) * 24.0 / self.period_h


@dataclass(frozen=True)
class Summary:
    median: float
    lower: float
    upper: float

    def as_dict(self, digits: int = 3) -> dict[str, float]:
        return {"median": round(self.median, digits), "lower": round(self.lower, digits),
                "upper": round(self.upper, digits)}


@dataclass(frozen=True)
class ScoredRegimen:
    regimen: CandidateRegimen
    peak_mg_l: Summary
    trough_mg_l: Summary
    auc24_mg_h_l: Summary
    tmic_pct: Summary | None
    p_in_target: float
    p_above_ceiling: float
    p_tmic_goal: float | None
    objective: float


MetricsFn = Callable[[CandidateRegimen], dict[str, FloatArray]]


def _summaries(x: FloatArray) -> list[Summary]:
    """Median and central 90 % interval of each row (candidate) over the draws, one call."""
    lo, hi = 50.0 * (1.0 - CREDIBLE_LEVEL), 50.0 * (1.0 + CREDIBLE_LEVEL)
    q = percentiles(np.asarray(x, dtype=float), [50.0, lo, hi], axis=1)
    return [Summary(m, a, b) for m, a, b in q.T.tolist()]  # Python floats, the same values


def score_many(cands: Sequence[CandidateRegimen], metrics: Sequence[dict[str, FloatArray]],
               target: Target) -> list[ScoredRegimen]:
    """Every candidate scored at once: metrics stacked to (candidates, draws)."""
    if not cands:
        return []
    cmax = np.vstack([np.asarray(m["cmax"], dtype=float) for m in metrics])
    in_window = (cmax >= target.peak_low_mg_l) & (cmax <= target.peak_high_mg_l)
    below_ceiling = cmax <= CEILING_MG_L
    p_in = np.mean(in_window, axis=1)
    p_above = np.mean(~below_ceiling, axis=1)
    with_mic = target.mic_mg_l is not None and all(m.get("tmic_pct") is not None
                                                   for m in metrics)
    stacked = [cmax, np.vstack([m["cmin"] for m in metrics]),
               np.vstack([m["auc24"] for m in metrics])]
    if with_mic:
        tm = np.vstack([np.asarray(m["tmic_pct"], dtype=float) for m in metrics])
        stacked.append(tm)
    # every summary from one call (rows are independent: the same numbers one by one)
    summaries = _summaries(np.vstack(stacked))
    n = len(cands)
    peaks, troughs, aucs = summaries[:n], summaries[n:2 * n], summaries[2 * n:3 * n]
    tmics: list[Summary | None] = [None] * n
    p_tmic: list[float | None] = [None] * n
    objective = p_in
    if with_mic:
        reached = tm >= target.tmic_pct
        tmics = list(summaries[3 * n:])
        p_tmic = [float(v) for v in np.mean(reached, axis=1)]
        objective = np.mean(reached & below_ceiling, axis=1)
    return [ScoredRegimen(regimen=c, peak_mg_l=peaks[i], trough_mg_l=troughs[i],
                          auc24_mg_h_l=aucs[i], tmic_pct=tmics[i], p_in_target=float(p_in[i]),
                          p_above_ceiling=float(p_above[i]), p_tmic_goal=p_tmic[i],
                          objective=float(objective[i]))
            for i, c in enumerate(cands)]


def score(cand: CandidateRegimen, metrics: dict[str, FloatArray], target: Target) -> ScoredRegimen:
    return score_many([cand], [metrics], target)[0]


def _key(s: ScoredRegimen) -> tuple[float, float, float, float]:
    return rank_key(s.objective, s.p_above_ceiling, s.regimen.capsules_per_day,
                    s.regimen.daily_dose_mg)


def ranks_above(a: ScoredRegimen, b: ScoredRegimen) -> bool:
    """`a` comes before `b` by the ranking key alone."""
    return _key(a) < _key(b)


def rank(candidates: Sequence[CandidateRegimen], metrics: MetricsFn,
         target: Target) -> list[ScoredRegimen]:
    """All candidates within 1 g/day, best first."""
    allowed = [c for c in candidates if c.daily_dose_mg <= MAX_DAILY_DOSE_MG + 1e-9]
    scored = score_many(allowed, [metrics(c) for c in allowed], target)
    return sorted(scored, key=_key)


@functools.lru_cache(maxsize=4096)
def _schedule(r: CandidateRegimen) -> Schedule:
    """The schedule of a regimen of the grid (the same few regimens case after case)."""
    n = len(r.offsets_h)
    gaps = np.diff([*r.offsets_h, r.offsets_h[0] + r.period_h])
    return schedule_of(r.amounts_mg, n * 24.0 / r.period_h,
                       bool(np.allclose(gaps, r.period_h / n)))


def option(s: ScoredRegimen) -> Option:
    """What the regimen policy reads of a scored regimen."""
    r = s.regimen
    return Option(label=r.label, p_goal=s.objective, p_above_ceiling=s.p_above_ceiling,
                  schedule=_schedule(r))


def reason(best: ScoredRegimen, target: Target, model_label: str, n_draws: int,
           runner_up: ScoredRegimen | None, current: ScoredRegimen | None = None, *,
           runner_up_why: str | None = None, policy_text: str = "") -> str:
    """Plain-language justification of the choice. `runner_up`: the next row of the table;
    when it ranked higher than `best`, `runner_up_why` says why it is not recommended;
    `policy_text`: the regimen policy's sentences (regimen_policy.choose)."""
    r = best.regimen
    pk = (f"steady-state peak {best.peak_mg_l.median:.1f} mg/L (90 % interval "
          f"{best.peak_mg_l.lower:.1f}–{best.peak_mg_l.upper:.1f} mg/L)")
    if best.p_tmic_goal is not None and target.mic_mg_l is not None:
        why = (f"{r.label} ({r.daily_dose_mg:g} mg/day) ranks first: probability "
               f"{100 * best.objective:.0f} % that the time above the MIC of "
               f"{target.mic_mg_l:g} mg/L reaches {target.tmic_pct:g} % of the dosing interval "
               f"while the peak stays at or below {CEILING_MG_L:g} mg/L; {pk}")
    else:
        why = (f"{r.label} ({r.daily_dose_mg:g} mg/day) ranks first: probability "
               f"{100 * best.p_in_target:.0f} % of a {pk} inside the target window "
               f"{target.peak_low_mg_l:g}–{target.peak_high_mg_l:g} mg/L")
    why += (f"; probability of a peak above {CEILING_MG_L:g} mg/L (monograph ceiling): "
            f"{100 * best.p_above_ceiling:.0f} %.")
    if runner_up is not None:
        ru = runner_up.regimen
        why += (f" Next best: {ru.label} ({100 * runner_up.objective:.0f} %, above ceiling "
                f"{100 * runner_up.p_above_ceiling:.0f} %)")
        # Say which ranking key separated the two, exactly as rank() sorted them; a
        # runner-up that ranked higher says why it is not recommended instead.
        kb, kr = _key(best), _key(runner_up)
        if runner_up_why is not None or kr < kb:
            why += (", ranked higher but not recommended: "
                    + (runner_up_why or "see the reason above"))
        elif kb[0] == kr[0]:
            if kb[1] != kr[1]:
                decided = (f"a lower probability above the ceiling "
                           f"({100 * best.p_above_ceiling:.1f} % against "
                           f"{100 * runner_up.p_above_ceiling:.1f} %)")
            elif kb[2] != kr[2]:
                decided = (f"fewer capsules a day ({r.capsules_per_day:g} against "
                           f"{ru.capsules_per_day:g})")
            else:
                decided = (f"the lower daily dose ({r.daily_dose_mg:g} against "
                           f"{ru.daily_dose_mg:g} mg)")
            why += (f": as likely within Monte Carlo error "
                    f"({100 * TIE_PROBABILITY:.1f} percentage points), so {decided} decided")
        why += "."
    if policy_text:
        why += " " + policy_text
    if current is not None and current.regimen.label == r.label:
        why += " This is the current regimen: no change of dose is needed."
    elif current is not None:
        why += (f" The current regimen ({current.regimen.label}) would give a steady-state peak "
                f"of {current.peak_mg_l.median:.1f} mg/L ({current.peak_mg_l.lower:.1f}–"
                f"{current.peak_mg_l.upper:.1f}); probability of the goal "
                f"{100 * current.objective:.0f} %, above the ceiling "
                f"{100 * current.p_above_ceiling:.0f} %.")
    why += (f" Based on {n_draws} posterior draws of this patient's parameters ({model_label}); "
            f"never above {MAX_DAILY_DOSE_MG:g} mg/day.")
    return why


def grid_for(case: Case) -> list[CandidateRegimen]:
    """The candidate grid of `cyclodose.clinical.candidates` (the case's capsule strengths)."""
    return list(_grid(tuple(case.settings.capsule_strengths_mg)))


@functools.lru_cache(maxsize=16)
def _grid(strengths: tuple[float, ...]) -> tuple[CandidateRegimen, ...]:
    # cached: the grid depends on the strengths alone and costs milliseconds per consult
    out = []
    for c in candidate_grid(strengths):
        counts = []
        for amount in c.pattern.amounts_mg:
            caps = fewest_capsules(amount, strengths)
            counts.append(sum(caps.values()) if caps else 0)
        out.append(CandidateRegimen(
            label=c.label, period_h=c.pattern.period_h, offsets_h=tuple(c.pattern.offsets_h),
            amounts_mg=tuple(c.pattern.amounts_mg), daily_dose_mg=c.daily_dose_mg,
            capsules_per_administration=tuple(counts), capsules=c.capsules))
    return tuple(out)
