"""Rich view of the model-informed `prediction` and `candidates` sections of an Assessment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from cyclodose.cli.app import Table, console

if TYPE_CHECKING:
    from cyclodose.workflows.assessment import Assessment
    from cyclodose.workflows.model_informed import Interval

_CANDIDATE_ROWS = 8


def _iv(x: Interval | None, unit: str, digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x.median:.{digits}f} {unit} (90 % {x.p05:.{digits}f}–{x.p95:.{digits}f})"


def _pct(p: float | None) -> str:
    return "—" if p is None else f"{100 * p:.0f} %"


def render_prediction(a: Assessment, title: str) -> None:
    """The model-informed section under `title` (from the assessment's lead)."""
    p = a.prediction
    if p is None:
        return
    if p.regimen is None:
        reason = escape(p.reason or "")
        console.print(f"\n[bold]{escape(title)}[/bold]: {escape(p.status)} — {reason}")
        return
    model = p.model.name if p.model else "?"
    style = "green" if p.status == "predicted" else "bold red"
    console.print(f"\n[bold]{escape(title)}[/bold] — [{style}]{escape(p.status)}[/{style}] "
                  f"(model {escape(model)}, {p.n_draws} draws, seed {p.seed})")
    t = Table(show_header=False)
    t.add_column("item", style="bold", overflow="fold")
    t.add_column("value", overflow="fold")
    t.add_row("regimen", f"{escape(p.regimen or '')} = {p.daily_dose_mg:g} mg/day "
                         f"({escape(', '.join(p.capsules))} per administration)")
    t.add_row("steady-state peak", _iv(p.peak_mg_l, "mg/L"))
    t.add_row("lowest level", _iv(p.trough_mg_l, "mg/L"))
    t.add_row("AUC24", _iv(p.auc24_mg_h_l, "mg·h/L", 0))
    low, high = p.target_window_mg_l or (float("nan"), float("nan"))
    t.add_row(f"P(peak {low:g}–{high:g} mg/L)", _pct(p.p_peak_in_window))
    t.add_row("P(peak > 30 mg/L)", _pct(p.p_peak_above_ceiling))
    if p.extrapolation:
        t.add_row("[yellow]extrapolation[/yellow]", escape("; ".join(p.extrapolation)))
    console.print(t)
    console.print("[bold]Why[/bold]")
    for line in p.rationale:
        console.print(f"  • {line}", markup=False)
    if a.candidates:
        c = Table(title=f"Ranked candidates (best {_CANDIDATE_ROWS} of {len(a.candidates)})",
                  title_justify="left")
        for col in ("#", "regimen", "mg/day", "peak mg/L (90 %)", "P(window)", "P(>30)"):
            c.add_column(col, overflow="fold")
        for row in a.candidates[:_CANDIDATE_ROWS]:
            peak = row.peak_mg_l
            c.add_row(str(row.rank), escape(row.regimen), f"{row.daily_dose_mg:g}",
                      f"{peak.median:.1f} ({peak.p05:.1f}–{peak.p95:.1f})",
                      _pct(row.p_peak_in_window), _pct(row.p_peak_above_ceiling))
        console.print(c)
