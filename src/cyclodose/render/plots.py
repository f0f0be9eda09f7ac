"""Concentration-time figures (matplotlib, Agg backend): curves, a prediction band,
measured levels as points, the target window shaded and the toxicity ceiling.

General enough for a simulation (`cyclodose simulate`) and for a Bayesian fit plot:
pass any number of curves, bands and point sets. Pure apart from `save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cyclodose.errors import CaseError  # noqa: E402
from cyclodose.limits import CEILING_MG_L

FORMATS = (".png", ".svg", ".pdf")


@dataclass(frozen=True)
class Curve:
    time_h: Sequence[float] | np.ndarray
    conc_mg_l: Sequence[float] | np.ndarray
    label: str
    color: str | None = None
    linestyle: str = "-"


@dataclass(frozen=True)
class Band:
    time_h: Sequence[float] | np.ndarray
    low_mg_l: Sequence[float] | np.ndarray
    high_mg_l: Sequence[float] | np.ndarray
    label: str
    color: str = "tab:blue"
    alpha: float = 0.18


@dataclass(frozen=True)
class Points:
    time_h: Sequence[float] | np.ndarray
    conc_mg_l: Sequence[float] | np.ndarray
    label: str = "measured"
    color: str = "black"
    marker: str = "o"
    # levels below quantification: drawn as open triangles at their LLOQ
    blq: Sequence[bool] | None = None


@dataclass(frozen=True)
class Window:
    low_mg_l: float
    high_mg_l: float
    label: str = "target peak window"


@dataclass
class FigureSpec:
    curves: list[Curve] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    points: list[Points] = field(default_factory=list)
    window: Window | None = None
    ceiling_mg_l: float | None = CEILING_MG_L
    title: str = ""
    x_label: str = "time since first dose (h)"
    y_label: str = "cycloserine plasma concentration (mg/L)"
    doses_h: Sequence[float] = ()
    note: str = ""


def concentration_figure(spec: FigureSpec, size_in: tuple[float, float] = (9.0, 4.8)) -> Figure:
    """Build the figure; the caller saves or embeds it (and closes it)."""
    fig, ax = plt.subplots(figsize=size_in)
    y_top = 0.0
    if spec.window is not None:
        ax.axhspan(spec.window.low_mg_l, spec.window.high_mg_l, color="tab:green", alpha=0.12,
                   label=f"{spec.window.label} {spec.window.low_mg_l:g}–"
                         f"{spec.window.high_mg_l:g} mg/L")
        y_top = max(y_top, spec.window.high_mg_l)
    if spec.ceiling_mg_l is not None:
        ax.axhline(spec.ceiling_mg_l, color="tab:red", linestyle="--", linewidth=1.2,
                   label=f"toxicity ceiling {spec.ceiling_mg_l:g} mg/L")
        y_top = max(y_top, spec.ceiling_mg_l)
    for b in spec.bands:
        ax.fill_between(np.asarray(b.time_h), np.asarray(b.low_mg_l), np.asarray(b.high_mg_l),
                        color=b.color, alpha=b.alpha, linewidth=0, label=b.label)
        y_top = max(y_top, float(np.nanmax(np.asarray(b.high_mg_l), initial=0.0)))
    for c in spec.curves:
        ax.plot(np.asarray(c.time_h), np.asarray(c.conc_mg_l), color=c.color,
                linestyle=c.linestyle, linewidth=1.6, label=c.label)
        y_top = max(y_top, float(np.nanmax(np.asarray(c.conc_mg_l), initial=0.0)))
    for p in spec.points:
        t = np.asarray(p.time_h, dtype=float)
        y = np.asarray(p.conc_mg_l, dtype=float)
        blq = np.zeros(t.shape, bool) if p.blq is None else np.asarray(p.blq, dtype=bool)
        if np.any(~blq):
            ax.scatter(t[~blq], y[~blq], color=p.color, marker=p.marker, zorder=5, label=p.label)
        if np.any(blq):
            ax.scatter(t[blq], y[blq], facecolors="none", edgecolors=p.color, marker="v",
                       zorder=5, label=f"{p.label} (below quantification, at LLOQ)")
        if y.size:
            y_top = max(y_top, float(np.nanmax(y)))
    for d in spec.doses_h:
        ax.axvline(d, color="grey", alpha=0.25, linewidth=0.6)
    ax.set_ylim(0.0, y_top * 1.12 + 1.0)
    ax.set_xlabel(spec.x_label)
    ax.set_ylabel(spec.y_label)
    if spec.title:
        ax.set_title(spec.title, fontsize=11)
    if spec.note:
        fig.text(0.01, 0.01, spec.note, fontsize=7, color="dimgrey", ha="left", va="bottom")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.85)
    fig.tight_layout(rect=(0, 0.04 if spec.note else 0, 1, 1))
    return fig


def save_figure(fig: Figure, path: str | Path, field_name: str = "--plot") -> Path:
    """Write a .png, .svg or .pdf file; problems are CaseErrors on `field_name`."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        plt.close(fig)
        raise CaseError.single(field_name, f"the plot file must end in {', '.join(FORMATS)}")
    try:
        fig.savefig(p, dpi=130)
    except OSError as exc:
        raise CaseError.single(field_name, f"cannot write {p}: {exc.strerror}") from None
    finally:
        plt.close(fig)
    return p


def write_concentration_plot(spec: FigureSpec, path: str | Path, **kwargs: Any) -> Path:
    return save_figure(concentration_figure(spec, **kwargs), path)


def simulation_figure_spec(sim: Any) -> FigureSpec:
    """FigureSpec for a `cyclodose.workflows.simulation.Simulation`."""
    lo, hi = sim.target_window_mg_l
    lv_ok = [lv for lv in sim.levels]
    points = []
    if lv_ok:
        points.append(Points(
            time_h=[lv.time_h for lv in lv_ok],
            conc_mg_l=[lv.lloq_mg_l if lv.blq else lv.observed_mg_l for lv in lv_ok],
            blq=[lv.blq for lv in lv_ok]))
    return FigureSpec(
        curves=[Curve(sim.time_h, sim.typical_mg_l, "typical patient", color="tab:blue")],
        bands=[Band(sim.time_h, sim.band_p05_mg_l, sim.band_p95_mg_l,
                    f"90 % prediction band ({sim.band_draws} draws)")],
        points=points, window=Window(lo, hi), ceiling_mg_l=sim.ceiling_mg_l,
        title=f"Cycloserine — model {sim.model.name} v{sim.model.version}",
        doses_h=sorted({t for t, _ in sim.doses}),
        note="Decision support only; predictions from a population model, check with levels.")
