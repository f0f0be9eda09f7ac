"""The TDM section as terminal text: the full view (`cyclodose tdm`) and the summary inside
`cyclodose assess`. Read from the typed section by attribute; nothing is recomputed."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from cyclodose.intake.units import sig3
from cyclodose.render.text import Table
from cyclodose.workflows.tdm.section import (
    Band,
    LevelFit,
    Predicted,
    TdmRecommendation,
    TdmSection,
    TdmUnavailable,
)

UNITS = {"cl_l_h": "L/h", "v_l": "L", "ka_per_h": "1/h", "tlag_h": "h", "mtt_h": "h"}


def band_text(b: Band, nd: int = 1, sep: str = " ") -> str:
    return f"{b.median:.{nd}f}{sep}({b.lower:.{nd}f}–{b.upper:.{nd}f})"


def schedule_text(rec: TdmRecommendation) -> str:
    """'08:00 250 mg, 20:00 375 mg every day' (clock times of the new regimen's day)."""
    parts = [f"{x.clock or '+' + format(x.offset_h, 'g') + ' h'} {x.dose_mg:g} mg"
             for x in rec.schedule]
    return "doses: " + ", ".join(parts) + (" every day" if rec.period_h == 24 else
                                          f", repeated every {rec.period_h:g} h")


def after_dose_text(row: LevelFit) -> str:
    """'2.0 h', or 'pre-dose' for a trough drawn at (or just before) the dose time."""
    if row.pre_dose:
        return "pre-dose"
    return "" if row.time_after_dose_h is None else f"{row.time_after_dose_h:.1f} h"


def predicted_text(p: Predicted) -> str:
    """'20.6 mg/L (a measured level 13.7–29.8 mg/L)'."""
    return (f"predicted {p.map_mg_l:.1f} mg/L (90 % {p.lower_mg_l:.1f}–{p.upper_mg_l:.1f}; a "
            f"measured level, residual error included, {p.measured_lower_mg_l:.1f}–"
            f"{p.measured_upper_mg_l:.1f} mg/L)")


def next_levels_heading(s: TdmSection) -> str:
    start = s.new_regimen_start_clock or f"{s.new_regimen_start_h:.1f} h"
    if s.regimen_changes:
        return f"(new regimen from its first dose at {start})"
    return f"(current regimen continued; next dose at {start})"


def averaging_text(s: TdmSection) -> list[RenderableType]:
    """The model-averaging weights and why (settings.model auto); nothing otherwise."""
    av = s.model_averaging
    if av is None:
        return []
    line = _m("  model averaging: ")
    for i, w in enumerate(av.weights):
        if i:
            line += Text("; ")
        line += Text(f"{w.name} weight {w.weight:.2f}")
        if w.extrapolation:
            line += _m(" [yellow](extrapolates)[/yellow]")
        if w.unavailable:
            line += Text(f" (not used: {w.unavailable})")
    return [line + Text(f" — {av.why}")]


def _m(markup: str) -> Text:
    return Text.from_markup(markup)


def _status_style(rec: TdmRecommendation) -> str:
    return "bold green" if rec.status == "recommended" else "bold red"


def modes_table(s: TdmSection) -> list[RenderableType]:
    """Both fits when two modes fit the levels about equally; nothing otherwise."""
    m2 = s.fit.second_mode
    if m2 is None:
        return []
    what = "fast against delayed absorption" if m2.absorption else "two fits"
    t = Table(title=f"Two modes fit the levels about equally ({what}): the levels cannot "
                    "tell them apart",
              caption=f"a level {m2.tell_apart_after_dose_h:g} h after a dose would separate "
                      "them (predicted after the last recorded dose)")
    for col in ("mode", "OFV", "parameters", "peak after a dose",
                f"level {m2.tell_apart_after_dose_h:g} h after a dose"):
        t.add_column(col)
    for mode in m2.modes:
        t.add_row(mode.label + ("\n(kept: lower OFV)" if mode.kept else ""), f"{mode.ofv:.2f}",
                  "\n".join(f"{k} {v:.3g} {UNITS.get(k, '')}".rstrip()
                            for k, v in mode.parameters.items()),
                  f"{mode.peak_after_dose_h:g} h", f"{mode.at_tell_apart_mg_l:.1f} mg/L")
    return [t]


def detail(s: TdmSection) -> list[RenderableType]:
    """Everything `cyclodose tdm` shows, in order."""
    out: list[RenderableType] = []
    m = s.model
    out.append(_m(f"[bold]Bayesian TDM[/bold] — model {m.name} v{m.version}"))
    out.append(Text(f"  {m.citation}"))
    if not m.extrapolation:
        out.append(Text("  the patient lies inside the model's validity domain"))
    for reason in m.extrapolation:
        out.append(_m("[yellow]extrapolation:[/yellow] ") + Text(reason))
    out += averaging_text(s)
    t = Table(title="Individual parameters (MAP and 90 % interval)")
    for col in ("parameter", "MAP", "90 % interval"):
        t.add_column(col)
    for name, p in s.parameters.items():
        u = UNITS.get(name, "")
        t.add_row(name, f"{p.map:.3g} {u}", f"{p.lower:.3g}–{p.upper:.3g} {u}")
    h = s.half_life_h
    t.add_row("half-life", f"{h.map:.1f} h", f"{h.lower:.1f}–{h.upper:.1f} h")
    out.append(t)
    lv = Table(title="Levels: observed against fitted")
    for col in ("time", "after dose", "observed", "fitted (90 % interval)", "IWRES"):
        lv.add_column(col)
    for row in s.predictions.levels:
        obs = (f"< {row.lloq_mg_l:g} mg/L" if row.blq or row.observed_mg_l is None
               else f"{sig3(row.observed_mg_l)} mg/L")
        iw = "" if row.iwres is None else f"{row.iwres:+.2f}"
        lv.add_row(row.clock or f"{row.time_h:.1f} h", after_dose_text(row), obs,
                   f"{row.ipred_mg_l:.1f} ({row.ipred_lower_mg_l:.1f}–"
                   f"{row.ipred_upper_mg_l:.1f}) mg/L", iw)
    out.append(lv)
    for flag in s.diagnostics.flags:
        out.append(_m("[red]flag:[/red] ") + Text(flag))
    out += modes_table(s)
    rec = s.recommendation
    style = _status_style(rec)
    out.append(_m(f"[{style}]TDM regimen — {rec.status}, {rec.advice.action}:[/{style}] ")
               + Text(f"{rec.regimen} ({rec.daily_dose_mg:g} mg/day; per administration "
                      f"{' / '.join(rec.capsules)})"))
    out.append(Text("  " + schedule_text(rec)))
    out.append(Text(rec.reason))
    for warning in rec.warnings:
        out.append(_m("[yellow]caution:[/yellow] ") + Text(warning))
    cur = s.current_regimen
    if cur is not None:
        out.append(Text(f"Current regimen {cur.regimen}: steady-state peak "
                        f"{band_text(cur.peak_mg_l)} mg/L, P(target) "
                        f"{100 * cur.p_in_target:.0f} %, P(>30 mg/L) "
                        f"{100 * cur.p_above_ceiling:.0f} %"))
    # With an MIC the ranking key is P(%T>MIC goal and peak <= 30 mg/L): show that column.
    mic = rec.p_tmic_goal_and_below_ceiling is not None
    goal_txt = ("P(goal): probability of %T>MIC reaching the goal with the peak ≤ 30 mg/L" if mic
                else "P(goal): probability of a steady-state peak inside the target window")
    rk = Table(title="Ranked regimens (steady state; median and 90 % interval)",
               caption=goal_txt + "; P(>30): probability of a peak above 30 mg/L")
    rk.add_column("regimen", overflow="fold")
    # numbers never fold: the median sits over its interval instead
    for col in ("peak mg/L", "trough mg/L", "AUC24 mg·h/L"):
        rk.add_column(col, no_wrap=True, min_width=11)
    for col in ("P(goal)", "P(>30)"):
        rk.add_column(col, no_wrap=True)
    for r in s.ranked:
        goal = r.p_tmic_goal_and_below_ceiling if mic else r.p_in_target
        rk.add_row(f"{r.regimen}\n{r.daily_dose_mg:g} mg/day",
                   band_text(r.peak_mg_l, sep="\n"), band_text(r.trough_mg_l, sep="\n"),
                   band_text(r.auc24_mg_h_l, 0, sep="\n"),
                   f"{100 * (goal or 0.0):.0f} %", f"{100 * r.p_above_ceiling:.0f} %")
    out.append(rk)
    if s.predictions.predicted_at:
        pt = Table(title="Predicted concentrations at the requested times")
        for col in ("time", "MAP", "90 % interval", "a measured level (90 %)"):
            pt.add_column(col)
        for at in s.predictions.predicted_at:
            pt.add_row(at.clock or f"{at.time_h:.1f} h", f"{at.map_mg_l:.2f} mg/L",
                       f"{at.lower_mg_l:.2f}–{at.upper_mg_l:.2f} mg/L",
                       f"{at.measured_lower_mg_l:.2f}–{at.measured_upper_mg_l:.2f} mg/L")
        out.append(pt)
    out.append(_m("[bold]Next levels[/bold] ") + Text(next_levels_heading(s)))
    for smp in s.next_samples:
        when = smp.clock or f"{smp.time_h:.1f} h from the first dose"
        out.append(Text(f"  {smp.label}: {when} — {predicted_text(smp.predicted)} — {smp.why}"))
    return out


def summary(s: TdmSection | TdmUnavailable) -> list[RenderableType]:
    """The concise TDM section of `cyclodose assess` (the full view is `cyclodose tdm`)."""
    if isinstance(s, TdmUnavailable):
        return [_m("[bold]Bayesian TDM[/bold]: ")
                + Text("not available — " + "; ".join(s.unavailable))]
    out: list[RenderableType] = []
    m = s.model
    out.append(_m(f"\n[bold]Bayesian TDM from {s.n_levels} level(s)[/bold] ")
               + Text(f"— model {m.name} v{m.version}"
                      + ("" if m.extrapolation else " (patient inside its validity domain)")))
    for reason in m.extrapolation:
        out.append(_m("  [yellow]extrapolation:[/yellow] ") + Text(reason))
    out += averaging_text(s)
    params = [f"{name} {p.map:.3g} {UNITS.get(name, '')} (90 % {p.lower:.3g}–"
              f"{p.upper:.3g})" for name, p in s.parameters.items()]
    h = s.half_life_h
    params.append(f"half-life {h.map:.1f} h (90 % {h.lower:.1f}–{h.upper:.1f})")
    out.append(Text("  MAP: " + "; ".join(params)))
    for flag in s.diagnostics.flags:
        out.append(_m("  [red]flag:[/red] ") + Text(flag))
    rec = s.recommendation
    style = _status_style(rec)
    out.append(_m(f"  [{style}]TDM regimen — {rec.status}, {rec.advice.action}:[/{style}] ")
               + Text(f"{rec.regimen} ({rec.daily_dose_mg:g} mg/day; {' / '.join(rec.capsules)}): "
                      f"steady-state peak {band_text(rec.peak_mg_l)} mg/L; P(peak in target) "
                      f"{100 * rec.p_in_target:.0f} %; P(peak > {rec.ceiling_mg_l:g} mg/L) "
                      f"{100 * rec.p_above_ceiling:.0f} %; {schedule_text(rec)}"))
    if rec.p_tmic_goal_and_below_ceiling is not None:
        out.append(Text(f"  P(%T>MIC goal with peak ≤ {rec.ceiling_mg_l:g} mg/L) "
                        f"{100 * rec.p_tmic_goal_and_below_ceiling:.0f} %"))
    for warning in rec.warnings:
        out.append(_m("  [yellow]caution:[/yellow] ") + Text(warning))
    for smp in s.next_samples:
        when = smp.clock or f"{smp.time_h:.1f} h from the first dose"
        out.append(Text(f"  next level {smp.label}: {when} — {predicted_text(smp.predicted)}"))
    out.append(Text("  (full detail, ranked alternatives and the reason: cyclodose tdm CASE)"))
    return out
