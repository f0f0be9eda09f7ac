"""Text tables of a PTA result (`cyclodose pta` without --json), from the typed result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cyclodose.cli.app import Table, console

if TYPE_CHECKING:
    from cyclodose.workflows.population import BreakpointCertainty, IndexPta, PtaResult, RegimenPta


def _pct(p: float) -> str:
    """A fraction in % with the digits it needs: 82, 99.7, 0.3, 100."""
    x = 100.0 * p
    return f"{x:.0f}" if p in (0.0, 1.0) or 1.0 <= x <= 99.0 else f"{x:.1f}"


def _with_ci(p: float, ci: tuple[float, float]) -> str:
    return f"{_pct(p)} %\n({_pct(ci[0])}-{_pct(ci[1])})"


def _breakpoint(bp: float | None, certainty: BreakpointCertainty) -> str:
    return ("none" if bp is None else f"{bp:g}") + ("" if certainty.stable else " (?)")


def _dose_text(reg: RegimenPta) -> str:
    mg = reg.daily_dose.mg
    return f"{mg.min:g}" if mg.min == mg.max else f"{mg.min:g}-{mg.max:g}"


def _summary(result: PtaResult, when: str) -> Table:
    regs = result.regimens
    targets = list(regs[0].breakpoint)
    cfr = regs[0].cfr is not None
    table = Table(title=f"{when}, individual predictions (no residual error); fractions in % "
                  "(95 % CI)")
    for col in ("regimen", "mg/day", "Cmax median mg/L", "P(Cmax > 30 mg/L)",
                "P(Cmax > 35 mg/L)"):
        table.add_column(col, justify="left" if col == "regimen" else "right")
    for t in targets:
        table.add_column(f"BP mg/L (T>MIC {t} %)", justify="right")  # BP: breakpoint
    if cfr:
        for t in targets:
            table.add_column(f"CFR (T>MIC {t} %)", justify="right")
    for reg in regs:
        row = [reg.regimen + (" (!)" if reg.flagged else ""), _dose_text(reg),
               f"{reg.cmax_median:.1f}", _with_ci(reg.p_cmax_above_30, reg.p_cmax_above_30_ci95),
               _with_ci(reg.p_cmax_above_35, reg.p_cmax_above_35_ci95)]
        row += [_breakpoint(reg.breakpoint[t], reg.breakpoint_certainty[t]) for t in targets]
        if reg.cfr is not None and reg.cfr_ci95 is not None:
            row += [_with_ci(reg.cfr[t], reg.cfr_ci95[t]) for t in targets]
        table.add_row(*row)
    return table


def _pta_table(title: str, rows: list[tuple[str, IndexPta | RegimenPta]], unit: str) -> Table:
    mics = list(rows[0][1].pta)
    table = Table(title=title)
    table.add_column("regimen")
    table.add_column("target", justify="right")
    for m in mics:
        table.add_column(f"{m} mg/L", justify="right")
    for name, index in rows:
        for t in index.pta[mics[0]]:
            table.add_row(name, f"{t}{unit}", *(_with_ci(index.pta[m][t], index.pta_ci95[m][t])
                                                 for m in mics))
    return table


def _group_table(reg: RegimenPta) -> Table:
    targets = list(reg.breakpoint)
    table = Table(title=f"{reg.regimen}: each group on its own")
    for col in ("group", "n", "mg/day", "weight kg", "P(Cmax > 30 mg/L)"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for t in targets:
        table.add_column(f"BP mg/L (T>MIC {t} %)", justify="right")
    if reg.cfr is not None:
        for t in targets:
            table.add_column(f"CFR (T>MIC {t} %)", justify="right")
    for g in reg.groups or []:
        row = [g.group, f"{g.n:,}", f"{g.daily_dose_mg:g}",
               f"{g.weight_kg_range[0]:.1f}-{g.weight_kg_range[1]:.1f}",
               f"{g.p_cmax_above_30:.1%}"]
        row += [_breakpoint(g.breakpoint[t], g.breakpoint_certainty[t]) for t in targets]
        if g.cfr is not None:
            row += [f"{g.cfr[t]:.1%}" for t in targets]
        table.add_row(*row)
    return table


def tables(result: PtaResult, when: str = "Steady state") -> list[Table]:
    regs = result.regimens
    out = [_summary(result, when), _pta_table(
        "Probability of target attainment (%T>MIC >= target), % (95 % CI)",
        [(r.regimen, r) for r in regs], "%")]
    for name, title in (("auc24_mic", "AUC24/MIC >= target"), ("cmax_mic", "Cmax/MIC >= target")):
        rows = [(r.regimen, index) for r in regs
                if (index := getattr(r, name)) is not None]
        if rows:
            out.append(_pta_table(f"Probability of target attainment ({title}), % (95 % CI)",
                                  rows, ""))
    out += [_group_table(r) for r in regs if r.groups]
    return out


def render(result: PtaResult, when: str) -> None:
    """The tables, the dose lines and flags, the warnings and notes."""
    for table in tables(result, when):
        console.print(table)
    for reg in result.regimens:
        console.print(reg.dose_summary, soft_wrap=True, highlight=False, markup=False)
        for flag in reg.flags:
            console.print(f"(!) {flag}", soft_wrap=True, highlight=False, markup=False)
    for text in result.warnings:
        console.print(f"warning: {text}", soft_wrap=True, highlight=False, markup=False)
    for text in result.notes:
        console.print(f"note: {text}", soft_wrap=True, highlight=False, markup=False)
