"""Figures for a PTA run: PTA against MIC with the 90 % line; exposure distributions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cyclodose.population.pta import (  # noqa: E402
    CEILING_MG_L,
    CNS_RISK_CMAX_MG_L,
    PTA_BREAKPOINT_FRACTION,
    RegimenResult,
)


def plot_pta(results: list[RegimenResult], path: str | Path,
             caption: list[str] | None = None, source: str = "") -> Path:
    """PTA-vs-MIC panels (one per target) and Cmax / AUC24 distributions; PNG/SVG/PDF by suffix.

    `caption`: warnings (validity of the model for this population) printed under the
    figure, so that a figure copied on its own still carries them; `source`: a line of
    provenance (versions, seed) for the title."""
    targets = list(results[0].breakpoint)
    n_panels = len(targets) + 2
    cols = 2
    rows = -(-n_panels // cols)
    fig, axes_grid = plt.subplots(rows, cols, figsize=(11.0, 4.2 * rows), squeeze=False)
    axes = list(axes_grid.ravel())
    mics = sorted(results[0].pta)
    for ax, target in zip(axes, targets, strict=False):
        for res in results:
            style = "--" if res.above_licensed_maximum else "-"
            label = res.regimen + (" (above 1 g/day)" if res.above_licensed_maximum else "")
            ax.plot(mics, [100 * res.pta[m][target] for m in mics], style, marker="o", label=label)
        ax.axhline(100 * PTA_BREAKPOINT_FRACTION, color="grey", lw=1, ls=":",
                   label="90 % (breakpoint line)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(mics, [f"{m:g}" for m in mics])
        ax.minorticks_off()
        ax.set_xlabel("MIC (mg/L)")
        ax.set_ylabel("probability of target attainment (%)")
        ax.set_title(f"%T>MIC >= {target:g} % of the dosing period")
        ax.set_ylim(-2, 102)
        ax.legend(fontsize=7, loc="lower left")
    ax_cmax, ax_auc = axes[len(targets)], axes[len(targets) + 1]
    hi_cmax = max(float(np.quantile(r.cmax_mg_l, 0.995)) for r in results)
    hi_auc = max(float(np.quantile(r.auc24_mg_h_l, 0.995)) for r in results)
    for res in results:
        ax_cmax.hist(res.cmax_mg_l, bins=np.linspace(0, hi_cmax, 80), histtype="step",
                     density=True, label=res.regimen)
        ax_auc.hist(res.auc24_mg_h_l, bins=np.linspace(0, hi_auc, 80), histtype="step",
                    density=True, label=res.regimen)
    ax_cmax.axvline(CEILING_MG_L, color="red", lw=1, ls="--", label="30 mg/L ceiling")
    ax_cmax.axvline(CNS_RISK_CMAX_MG_L, color="darkred", lw=1, ls=":", label="35 mg/L CNS risk")
    ax_cmax.set_xlabel("steady-state Cmax (mg/L)")
    ax_cmax.set_ylabel("density")
    ax_cmax.set_title("peak concentration")
    ax_cmax.legend(fontsize=7)
    ax_auc.set_xlabel("steady-state AUC0-24 (mg·h/L)")
    ax_auc.set_ylabel("density")
    ax_auc.set_title("daily exposure")
    ax_auc.legend(fontsize=7)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    n = results[0].n
    fig.suptitle(f"{results[0].model}: {n:,} virtual patients, individual predictions "
                 f"(no residual error), %T>MIC {results[0].tmic_method}.\n"
                 "Research output for regimen design, not a dosing recommendation."
                 + (f"\n{source}" if source else ""), fontsize=9)
    lines = [textwrap.fill("Warning: " + w, 150) for w in caption or []]
    if lines:
        fig.text(0.01, 0.005, "\n".join(lines), fontsize=7, va="bottom", ha="left",
                 color="darkred")
        fig.tight_layout(rect=(0, 0.025 * sum(t.count("\n") + 1 for t in lines), 1, 1))
    else:
        fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
