"""Plot descriptions for static/js/plots.js, built from a typed result's own numbers
(a simulation, a TDM estimate). Only re-arranged for drawing: nothing is computed."""

from __future__ import annotations

import json
from typing import Any

from cyclodose.intake.case import Case
from cyclodose.limits import CEILING_MG_L

X_TITLE = "time since the first dose (h)"
Y_TITLE = "cycloserine plasma concentration (mg/L)"


def _thin(xs: list[float], *series: list[float], most: int = 1500) -> tuple[list[Any], ...]:
    # Plotly draws thousands of points slowly on a phone; every n-th sample keeps the shape.
    step = max(1, len(xs) // most)
    return tuple(s[::step] for s in (xs, *series))


def field(obj: Any, key: str) -> Any:
    """A field of a typed result or of its JSON document (the same names in both)."""
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def simulation_plot(sim: Any) -> str:
    x, typ, lo, hi = _thin(list(sim.time_h), list(sim.typical_mg_l), list(sim.band_p05_mg_l),
                           list(sim.band_p95_mg_l))
    return json.dumps({
        "kind": "concentration", "x_title": X_TITLE, "y_title": Y_TITLE,
        "curves": [{"x": x, "y": typ, "name": "typical patient with these covariates"}],
        "bands": [{"x": x, "low": lo, "high": hi, "name": "90 % prediction band"}],
        "window": list(sim.target_window_mg_l), "ceiling": sim.ceiling_mg_l,
        "doses_h": [t for t, _ in sim.doses],
    })


def fit_plot(tdm: dict[str, Any], case: Case) -> str:
    """The TDM fit: individual curve with its 90 % band, measured levels, window, ceiling."""
    predictions = field(tdm, "predictions")
    curve = field(predictions, "curve")
    levels = [{k: field(lv, k) for k in ("time_h", "blq", "lloq_mg_l", "observed_mg_l")}
              for lv in field(predictions, "levels")]
    times = list(field(curve, "time_h"))
    window = [case.target.peak_low_mg_l, case.target.peak_high_mg_l]
    x0, x1 = times[0], times[-1]
    return json.dumps({
        "kind": "concentration", "x_title": X_TITLE, "y_title": Y_TITLE,
        "curves": [{"x": times, "y": list(field(curve, "map_mg_l")),
                    "name": "individual fit (MAP)"}],
        "bands": [{"x": times, "low": list(field(curve, "lower_mg_l")),
                   "high": list(field(curve, "upper_mg_l")), "name": "90 % credible band"}],
        "points": [{
            "x": [lv["time_h"] for lv in levels],
            # a level below quantification is drawn at its limit, as an open triangle
            "y": [lv["lloq_mg_l"] if lv["blq"] else lv["observed_mg_l"] for lv in levels],
            "symbols": ["triangle-down-open" if lv["blq"] else "circle" for lv in levels],
            "labels": [(f"< {lv['lloq_mg_l']:g} mg/L (below quantification)" if lv["blq"]
                        else f"{lv['observed_mg_l']:g} mg/L measured") for lv in levels],
            "name": "measured levels"}],
        "window": window, "ceiling": CEILING_MG_L,
        "doses_h": [d.time_h for d in case.doses if x0 <= d.time_h <= x1],
    })
