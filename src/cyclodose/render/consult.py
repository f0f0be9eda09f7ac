"""The TDM consult report a pharmacist signs: HTML from a string template, PDF by WeasyPrint.

`consult_html(estimate)` is pure (no I/O beyond reading the bundled template);
`write_report` and `write_fit_plot` write files.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from cyclodose.errors import CaseError
from cyclodose.intake.case import Case, Target
from cyclodose.intake.units import sig3
from cyclodose.limits import CEILING_MG_L, MAX_DAILY_DOSE_MG
from cyclodose.render import plots
from cyclodose.render.tdm_text import UNITS, after_dose_text, predicted_text, schedule_text
from cyclodose.version import __version__
from cyclodose.workflows.assessment import Assessment
from cyclodose.workflows.tdm.consult import TdmConsult
from cyclodose.workflows.tdm.section import Band, RankedRegimen, TdmSection

DISCLAIMER = (
    "Decision support only. This consult is computed from a published population "
    "pharmacokinetic model and the data entered; it does not replace clinical judgement. "
    "Check the dose history and sample times, the patient's clinical state and "
    "adverse effects (CNS toxicity, seizures, psychiatric symptoms) before any change. "
    f"Never give more than {MAX_DAILY_DOSE_MG:g} mg of cycloserine a day; keep plasma "
    f"concentrations below {CEILING_MG_L:g} mg/L (monograph). The model, its version and "
    "citation are stated above; a patient outside its population is flagged as extrapolation."
)


_STATUS_TEXT = {
    "recommended": "Recommended",
    "verify before use": "Verify before use: the levels are not explained by the model or the "
                         "estimate is unreliable (see Caution)",
    "contraindicated": "Contraindicated: for a prescriber who judges that benefit outweighs risk "
                       "only (see Caution)",
    "hold and review": "Hold and review: toxicity on treatment (see Caution)",
    "not recommended": "Not recommended: predicted more likely than not to peak above the "
                       "ceiling (see Caution)",
}


def _e(x: Any) -> str:
    return html.escape(str(x))


def _table(headers: list[str] | None, rows: list[list[str]],
           numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    if headers is None:
        head_html = ""
    else:
        head_html = "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                         for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table>{head_html}<tbody>{body}</tbody></table>"


def _band(b: Band, unit: str, nd: int = 1) -> str:
    return f"{b.median:.{nd}f} {unit} (90 % {b.lower:.{nd}f}–{b.upper:.{nd}f})"


def _clock(case: Case, time_h: float) -> str:
    c = case.clock(time_h)
    return c.strftime("%Y-%m-%d %H:%M") if c else f"{time_h:.1f} h"


def _patient_table(case: Case, assessment: Assessment) -> str:
    """Patient facts as the assessment derived them (renal function is not recomputed here)."""
    p, ap = case.patient, assessment.patient
    rows = [["Age", f"{p.age_years:g} years"], ["Sex", p.sex], ["Weight", f"{p.weight_kg:g} kg"]]
    if p.height_cm is not None:
        rows.append(["Height", f"{p.height_cm:g} cm"])
    if p.serum_creatinine_mg_dl is not None:
        rows.append(["Serum creatinine", f"{p.serum_creatinine_mg_dl:.2f} mg/dL "
                                         f"({p.serum_creatinine_mg_dl * 88.4:.0f} µmol/L)"])
    if ap.crcl_ml_min is not None:
        renal = (f"{ap.crcl_ml_min:.0f} {ap.crcl_unit} ({ap.crcl_method}); "
                 f"category {ap.renal_category}")
        if ap.ckd_epi_ml_min_173m2 is not None:
            renal += f"; CKD-EPI 2021 eGFR {ap.ckd_epi_ml_min_173m2:.0f} mL/min/1.73 m²"
    else:
        renal = "not available"
    rows.append(["Renal function", renal])
    rows.append(["Dialysis", p.dialysis])
    if ap.gestation is not None:  # a pregnant patient only
        rows.append(["Pregnancy", f"pregnant, {ap.gestation.text}"])
    if case.comedications:
        rows.append(["Co-medications", ", ".join(case.comedications)])
    return _table(None, rows)


def _findings(assessment: Assessment) -> str:
    if not assessment.findings:
        return "<p>No contraindications, precautions or interactions were found.</p>"
    rows = [[f.severity, f.code, f.message] for f in assessment.findings]
    return _table(["severity", "code", "finding"], rows)


def _doses(case: Case) -> str:
    """The dose history the estimate fitted (the doses given), and how many are planned."""
    doses = sorted(case.given_doses, key=lambda d: d.time_h)
    total = sum(d.amount_mg for d in doses)
    planned = len(case.doses) - len(doses)
    later = (f" {planned} planned doses (at or after the assessment time) are not part of it."
             if planned else "")
    summary = (f"<p>{len(doses)} doses recorded, {total:g} mg in total, from "
               f"{_e(_clock(case, doses[0].time_h))} to {_e(_clock(case, doses[-1].time_h))}."
               f"{later}</p>")
    shown = doses[-8:]
    rows = [[_clock(case, d.time_h), f"{d.amount_mg:g} mg"] for d in shown]
    note = "" if len(shown) == len(doses) else f"<p class='meta'>Last {len(shown)} doses shown.</p>"
    return summary + _table(["time", "dose"], rows, {1}) + note


def fit_figure_spec(s: TdmSection, target: Target) -> plots.FigureSpec:
    """The fit plot: MAP curve, 90 % credible band, levels, target window and ceiling."""
    c = s.predictions.curve
    t = np.asarray(c.time_h, dtype=float)
    levels = s.predictions.levels
    return plots.FigureSpec(
        curves=[plots.Curve(t, np.asarray(c.map_mg_l, dtype=float), "individual fit (MAP)",
                            color="tab:blue")],
        bands=[plots.Band(t, np.asarray(c.lower_mg_l, dtype=float),
                          np.asarray(c.upper_mg_l, dtype=float), "90 % credible band")],
        points=[plots.Points([lv.time_h or 0.0 for lv in levels],
                             [(lv.lloq_mg_l if lv.blq else lv.observed_mg_l) or 0.0
                              for lv in levels],
                             "measured levels", blq=[lv.blq for lv in levels])],
        window=plots.Window(target.peak_low_mg_l, target.peak_high_mg_l),
        ceiling_mg_l=CEILING_MG_L,
        title=f"Bayesian fit ({s.model.name} v{s.model.version})",
        doses_h=list(s.predictions.dose_times_h),
        note="vertical lines: doses; band: parameter uncertainty (SIR), residual error excluded",
    )


def _plot_png(s: TdmSection, target: Target) -> bytes:
    fig = plots.concentration_figure(fit_figure_spec(s, target))
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=130)
    finally:
        plt.close(fig)
    return buf.getvalue()


def write_fit_plot(consult: TdmConsult, path: Path) -> None:
    plots.write_concentration_plot(fit_figure_spec(consult.tdm, consult.case.target), path)


def _current(cur: RankedRegimen | None) -> str:
    if cur is None:
        return ""
    return (f"<p><strong>Current regimen</strong> {_e(cur.regimen)} "
            f"({cur.daily_dose_mg:g} mg/day): predicted steady-state peak "
            f"{_e(_band(cur.peak_mg_l, 'mg/L'))}, "
            f"trough {_e(_band(cur.trough_mg_l, 'mg/L'))}; "
            f"P(target) {100 * cur.p_in_target:.0f} %, P(&gt; {CEILING_MG_L:g} mg/L) "
            f"{100 * cur.p_above_ceiling:.0f} %.</p>")


def _guideline_reference(assessment: Assessment) -> str:
    """The guideline regimen below the TDM result, under the lead's reference title."""
    title = next((sec.title for sec in assessment.lead.sections if sec.name == "guideline"),
                 "Guideline regimen")
    rec = assessment.recommendation
    phases = "; then ".join(f"{ph.label}: {ph.dose_mg:g} mg {ph.frequency} "
                            f"({ph.daily_dose_mg:g} mg/day)" for ph in rec.phases)
    text = f"{rec.guideline} — {rec.status}" + (f": {phases}." if phases else ".")
    return f"<h3>{_e(title)}</h3><p>{_e(text)}</p>"


def consult_html(consult: TdmConsult, generated: datetime | None = None) -> str:
    s, assessment, case = consult.tdm, consult.assessment, consult.case
    rec = s.recommendation
    target = case.target
    window = f"{target.peak_low_mg_l:g}–{target.peak_high_mg_l:g} mg/L"

    lv_rows = []
    for r in s.predictions.levels:
        obs = (f"< {r.lloq_mg_l:g} mg/L (BLQ)" if r.blq or r.observed_mg_l is None
               else f"{sig3(r.observed_mg_l)} mg/L")
        lv_rows.append([_clock(case, r.time_h or 0.0), after_dose_text(r), obs,
                        f"{r.ipred_mg_l:.1f} mg/L ({r.ipred_lower_mg_l:.1f}–"
                        f"{r.ipred_upper_mg_l:.1f})", f"{r.pred_mg_l:.1f} mg/L",
                        "" if r.iwres is None else f"{r.iwres:+.2f}"])
    levels_table = _table(["sampled", "after dose", "measured", "fitted (90 %)", "population",
                           "IWRES"], lv_rows, {1, 2, 3, 4, 5})
    flags = "".join(f'<p class="flag">⚠ {_e(f)}</p>' for f in s.diagnostics.flags)

    names = {"cl_l_h": "Clearance CL/F", "v_l": "Volume V/F", "ka_per_h": "Absorption rate ka",
             "tlag_h": "Lag time", "mtt_h": "Mean transit time"}
    p_rows = []
    for k, v in s.parameters.items():
        u = UNITS[k]
        p_rows.append([names.get(k, k), f"{v.map:.3g} {u}", f"{v.lower:.3g}–{v.upper:.3g} {u}",
                       f"{v.typical:.3g} {u}"])
    h = s.half_life_h
    p_rows.append(["Half-life", f"{h.map:.1f} h", f"{h.lower:.1f}–{h.upper:.1f} h", ""])
    param_table = _table(["parameter", "estimate (MAP)", "90 % interval",
                          "population typical (these covariates)"],
                         p_rows, {1, 2, 3})
    moved = "How far the levels moved the estimate from the population prior — " + "; ".join(
        f"{n}: {e.z_map:+.2f} prior SD, posterior/prior SD {e.sd_ratio:.2f}"
        for n, e in s.etas.items()
    ) + " (a ratio near 1 means the levels carried little information on that parameter)."

    # With an MIC the ranking key is P(%T>MIC goal and peak <= ceiling): show that, not the window.
    mic = rec.p_tmic_goal_and_below_ceiling is not None

    def goal(r: RankedRegimen) -> float:
        return (r.p_tmic_goal_and_below_ceiling or 0.0) if mic else r.p_in_target

    rk_rows = [[r.regimen, f"{r.daily_dose_mg:g} mg",
                " / ".join(r.capsules) or " / ".join(map(str, r.capsules_per_administration)),
                _band(r.peak_mg_l, "mg/L"), _band(r.trough_mg_l, "mg/L"),
                _band(r.auc24_mg_h_l, "mg·h/L", 0),
                f"{100 * goal(r):.0f} %", f"{100 * r.p_above_ceiling:.0f} %"]
               for r in s.ranked[:6]]
    goal_head = (f"P(%T>MIC ≥ {target.tmic_pct:g} %, peak ≤ {CEILING_MG_L:g} mg/L)" if mic
                 else f"P(peak {window})")
    ranked_table = _table(["regimen", "daily", "capsules", "peak", "trough", "AUC24",
                           goal_head, f"P(peak > {CEILING_MG_L:g} mg/L)"], rk_rows, {1, 6, 7})
    rec_tmic = ""
    if rec.p_tmic_goal is not None and target.mic_mg_l is not None:
        rec_tmic = (f"<br>P(%T&gt;MIC ≥ {target.tmic_pct:g} % at MIC {target.mic_mg_l:g} mg/L) "
                    f"{100 * rec.p_tmic_goal:.0f} %.")
    extrap = ""
    if rec.warnings:
        extrap = ('<div class="warn"><strong>Caution</strong><ul>'
                  + "".join(f"<li>{_e(w)}</li>" for w in rec.warnings) + "</ul></div>")

    start_at = _e(_clock(case, s.new_regimen_start_h or 0.0))
    mon_items = [f"<li><strong>{_e(rec.advice.action.capitalize())}</strong>: "
                 f"{_e(rec.advice.text)}</li>",
                 f"<li>Start the new regimen with the dose due at {start_at}.</li>"
                 if s.regimen_changes else
                 f"<li>Continue the current regimen; the next dose is due at {start_at}.</li>"]
    for smp in s.next_samples:
        when = (smp.clock.replace("T", " ") if smp.clock
                else f"{smp.time_h:.1f} h from the first dose")
        mon_items.append(f"<li>{_e(smp.label)}: {_e(when)} — {_e(predicted_text(smp.predicted))}"
                         f" — {_e(smp.why)}</li>")
    for m in assessment.monitoring:
        mon_items.append(f"<li>{_e(m.what)} — {_e(m.when)}. {_e(m.why)}</li>")
    mon_items.append("<li>Ask about and record CNS symptoms (headache, somnolence, tremor, "
                     "confusion, depression, psychosis) at every visit; a level is indicated "
                     "whenever they appear.</li>")
    monitoring = "<ul>" + "".join(mon_items) + "</ul>"

    model = s.model
    inside = ("The patient lies inside the model's validity domain." if not model.extrapolation
              else "The patient lies OUTSIDE the model's validity domain (extrapolation): "
              + "; ".join(model.extrapolation) + ".")
    model_text = (f"{_e(model.title)} ({_e(model.name)} v{_e(model.version)}). "
                  f"{_e(model.citation)}. {_e(model.structure)}. {_e(inside)}")
    av = s.model_averaging
    if av is not None:
        model_text += _e(" Model averaging (settings.model auto): " + "; ".join(
            f"{w.name} v{w.version} weight {w.weight:.2f}"
            + (f" (extrapolates: {'; '.join(w.extrapolation)})" if w.extrapolation else "")
            + (f" (not used: {w.unavailable})" if w.unavailable else "")
            for w in av.weights) + f". Why: {av.why}. Method: {av.method}. The "
            "estimates and level fits shown are the highest-weight model's; the forecasts, the "
            "ranking, the advice and the prediction intervals are the weighted mixture's.")
    fit = s.fit
    method_text = (
        "Maximum a posteriori estimate of the individual random effects (Kang objective, "
        "below-quantification samples by the M3 likelihood, Levenberg–Marquardt from "
        f"{fit.n_starts} starting points placed along every random effect, Newton-polished); "
        "uncertainty by sampling-importance-resampling "
        f"({fit.sir.n_draws} draws from {fit.sir.n_proposals} proposals, effective "
        f"sample size {fit.sir.effective_sample_size or 0.0:.0f}) with the Laplace approximation "
        "for comparison. Forecasts set between-occasion variability to 0 and assume steady state "
        f"of the new regimen. cyclodose {__version__}."
    )
    occ = s.occasions
    if occ.iov_estimated and occ.cl_l_h_map:
        method_text += (
            f" Levels from {occ.n} sampling occasions: between-occasion variability estimated "
            "for each (clearance on each occasion "
            + ", ".join(f"{c:.2f} L/h" for c in occ.cl_l_h_map if c is not None)
            + "); the forecast uses the between-subject estimate.")
    if model.covariate_rule:
        method_text += f" Time-varying covariates: {model.covariate_rule}."
    png = _plot_png(s, target)
    tpl = Template(resources.files("cyclodose.render").joinpath("templates/consult.html")
                   .read_text(encoding="utf-8"))
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    return tpl.substitute(
        version=_e(__version__), generated=_e(when),
        model_label=_e(f"{model.name} v{model.version}"),
        t0=_e(case.t0.strftime("%Y-%m-%d %H:%M") if case.t0 else "unknown"),
        patient_table=_patient_table(case, assessment), findings=_findings(assessment),
        doses=_doses(case), levels_table=levels_table, flags=flags,
        plot_src="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        window=_e(window), ceiling=_e(f"{CEILING_MG_L:g}"), param_table=param_table,
        moved=_e(moved),
        rec_status=_e(_STATUS_TEXT.get(rec.status, rec.status)),
        rec_class="rec" if rec.status == "recommended" else "rec blocked",
        rec_regimen=_e(rec.regimen), rec_daily=_e(f"{rec.daily_dose_mg:g}"),
        rec_capsules=_e("per administration: " + (" / ".join(rec.capsules) or " / ".join(
            map(str, rec.capsules_per_administration)))
            + "; " + schedule_text(rec)),
        rec_peak=_e(_band(rec.peak_mg_l, "mg/L")),
        rec_trough=_e(_band(rec.trough_mg_l, "mg/L")),
        rec_auc=_e(_band(rec.auc24_mg_h_l, "mg·h/L", 0)),
        rec_p_target=_e(f"{100 * rec.p_in_target:.0f} %"),
        rec_p_ceiling=_e(f"{100 * rec.p_above_ceiling:.0f} %"), rec_tmic=rec_tmic,
        rec_reason=_e(rec.reason), current=_current(s.current_regimen), extrapolation=extrap,
        ranked_table=ranked_table, guideline_reference=_guideline_reference(assessment),
        lead_headline=_e(assessment.lead.headline),
        tdm_title=_e(assessment.lead.sections[0].title),
        lead_class="rec" if assessment.lead.status == "recommended" else "rec blocked",
        monitoring=monitoring, model_text=model_text, method_text=_e(method_text),
        disclaimer=_e(DISCLAIMER),
    )


def write_report(consult: TdmConsult, path: Path) -> None:
    """Write the consult as .html or .pdf (WeasyPrint)."""
    text = consult_html(consult)
    try:
        if path.suffix.lower() == ".pdf":
            from weasyprint import HTML

            HTML(string=text).write_pdf(str(path))
        else:
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CaseError.single("--report", f"cannot write {path}: {exc.strerror}") from None
