"""Section 4: the PK engine's checks: typical-patient values of pharmacology.md §1
(derived from Alghamdi 2019), the monograph's statements, agreement with an ODE
integration (scipy solve_ivp)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from cyclodose import pk
from validation.common import STUDY_SEED


def ode_conc(cl: float, v: float, ka: float, tlag: float, td: np.ndarray, ad: np.ndarray,
             ts: np.ndarray, n_transit: int = 0, mtt_h: float = 1.0) -> np.ndarray:
    """Concentrations by integrating the compartment ODEs between events (solve_ivp, LSODA).

    Transit absorption as in Savic 2007: the dose compartment and N transit compartments
    (N + 1 stages, k_tr = (N + 1) / MTT) feed the absorption compartment (ka), then central.
    """
    ktr = (n_transit + 1) / mtt_h
    n_stages = n_transit + 1 if n_transit else 0
    # (time, 0 = sample / 1 = dose entry, index or amount); samples first at equal times
    events = sorted([(float(t), 0, float(i)) for i, t in enumerate(ts)]
                    + [(float(t + tlag), 1, float(a)) for t, a in zip(td, ad, strict=True)])
    state = np.zeros(n_stages + 2)
    t_prev = min(0.0, events[0][0])
    out = np.zeros(ts.size)

    def rhs(_t: float, x: np.ndarray) -> np.ndarray:
        dx = np.empty_like(x)
        inflow = 0.0
        for j in range(n_stages):
            dx[j] = inflow - ktr * x[j]
            inflow = ktr * x[j]
        dx[n_stages] = inflow - ka * x[n_stages]
        dx[n_stages + 1] = ka * x[n_stages] - cl / v * x[n_stages + 1]
        return dx

    for t, kind, val in events:
        if t > t_prev:
            sol = solve_ivp(rhs, (t_prev, t), state, method="LSODA", rtol=1e-11, atol=1e-12)
            state = sol.y[:, -1].copy()
            t_prev = t
        if kind == 0:
            out[int(val)] = state[-1] / v
        else:
            state[0] += val
    return out


# ---- PK engine checks -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    what: str
    expected: str
    got: float
    unit: str
    ok: bool
    source: str


def _rel(got: float, want: float) -> float:
    return abs(got - want) / abs(want)


def typical_value_checks() -> list[Check]:
    """Alghamdi 2019 typical TB patient (59 kg, CrCl 89.1 mL/min): pharmacology.md §1 [derived]."""
    spec = pk.get_model("alghamdi2019")
    cov = pk.Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
    src = "Alghamdi 2019 parameters; derived check values"
    out: list[Check] = []
    t = np.arange(0.0, 8.0, 0.0005)
    c = pk.predict(spec, cov, None, [0.0], [500.0], t)[0]
    out.append(Check("single 500 mg: Cmax", "19.5", float(c.max()), "mg/L",
                     _rel(float(c.max()), 19.5) < 0.01, src))
    out.append(Check("single 500 mg: Tmax", "1.1", float(t[np.argmax(c)]), "h",
                     abs(float(t[np.argmax(c)]) - 1.1) < 0.06, src))
    table = [((250.0, 24.0), 15.5, 5.9, 242.0), ((250.0, 12.0), 24.9, 15.7, 484.0),
             ((500.0, 24.0), 30.9, 11.8, 484.0), ((500.0, 12.0), 49.9, 31.3, 967.0),
             ((750.0, 24.0), 46.4, 17.7, 726.0)]
    for (dose, tau), cmax, cmin, auc in table:
        m = pk.steady_state_metrics(spec, cov, None, pk.DosePattern.every(dose, tau))
        label = f"{dose:g} mg q{tau:g}h steady state"
        for key, want, unit in (("cmax", cmax, "mg/L"), ("cmin", cmin, "mg/L"),
                                ("auc24", auc, "mg·h/L")):
            got = float(np.asarray(m[key])[0])
            # tabulated to 3 significant figures: 1 % (2 % for the 1-decimal troughs < 10 mg/L)
            tol = 0.02 if want < 10 else 0.01
            out.append(Check(f"{label}: {key}", f"{want:g}", got, unit, _rel(got, want) < tol, src))
    # dose recovery: CL × AUC0–∞ returns the dose (AUC over a steady-state interval = AUC0–∞)
    par = pk.individual_parameters(spec, cov, None)
    auc = float(np.asarray(pk.steady_state_metrics(spec, cov, None,
                                                   pk.DosePattern.every(500.0, 24.0))["auc24"])[0])
    out.append(Check("dose recovery: CL × AUC0–∞ for 500 mg", "500", float(par.cl_l_h[0]) * auc,
                     "mg", _rel(float(par.cl_l_h[0]) * auc, 500.0) < 1e-6, "mass balance"))
    rg = pk.get_model("resendiz2025")
    cov_rg = pk.Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0,
                                  age_years=35.0)
    m = pk.steady_state_metrics(rg, cov_rg, None, pk.DosePattern.every(250.0, 12.0))
    got = float(np.asarray(m["cmax"])[0])
    out.append(Check("Resendiz-Galvan 2025 typical (FFM 38.6 kg, RF 1), 250 mg q12h: Cmax,ss",
                     "16.6", got, "mg/L", _rel(got, 16.6) < 0.01,
                     "Resendiz-Galvan 2025 parameters; derived check value"))
    got = float(np.asarray(m["auc24"])[0])
    out.append(Check("Resendiz-Galvan 2025 typical, 250 mg q12h: AUC24", f"{500 / 1.49:.1f}", got,
                     "mg·h/L", _rel(got, 500 / 1.49) < 0.01, "CL = 0.901 + 0.589 = 1.49 L/h"))
    return out


def monograph_checks() -> tuple[list[Check], list[str]]:
    """The monograph's statements against the default model (typical TB patient)."""
    spec = pk.get_model("alghamdi2019")
    cov = pk.Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
    t = np.arange(0.0, 24.0, 0.001)
    c = pk.predict(spec, cov, None, [0.0], [250.0], t)[0]
    peak = float(c.max())
    tmax = float(t[np.argmax(c)])
    ss = pk.steady_state_metrics(spec, cov, None, pk.DosePattern.every(250.0, 12.0))
    cmax_ss = float(np.asarray(ss["cmax"])[0])
    par = pk.individual_parameters(spec, cov, None)
    t_half = float(np.log(2) * par.v_l[0] / par.cl_l_h[0])
    src = "monograph (Pharmacokinetics)"
    checks = [
        Check("single 250 mg: peak about 10 µg/mL", "≈ 10", peak, "mg/L", 8.0 <= peak <= 12.0, src),
        Check("250 mg twice daily: steady-state peak 20–30 µg/mL", "20–30", cmax_ss, "mg/L",
              20.0 <= cmax_ss <= 30.0, src),
    ]
    notes = [
        f"Time to peak: the model gives {tmax:.1f} h after a single 250 mg dose (fasted "
        "absorption, Alghamdi 2019); the monograph states 3–4 h and the US label 4–8 h. Food "
        "delays absorption (Zhu 2001: about 4.7-fold); the estimator's wide ka prior and the "
        "6 h sample absorb this difference for an individual patient.",
        f"Half-life: the model gives {t_half:.1f} h in a typical TB patient (paper: 16.8 h); "
        "the monograph states about 10 h (8–12 h in the Renal Drug Handbook). The model's "
        "figure is from 235 TB patients; the individual estimate replaces both once levels exist.",
    ]
    return checks, notes


def ode_agreement(seed: int = STUDY_SEED) -> list[tuple[str, float]]:
    """Largest relative difference, PK engine against solve_ivp, for several histories."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, float]] = []
    cases = [
        ("Alghamdi, single 500 mg", "alghamdi2019", np.array([0.0]), np.array([500.0]), None),
        ("Alghamdi, irregular (missed + extra dose, 250/500 mg)", "alghamdi2019",
         np.array([0.0, 12.0, 36.0, 40.0, 60.0, 72.0]),
         np.array([250.0, 250.0, 500.0, 250.0, 250.0, 500.0]), None),
        ("Alghamdi, lag 14 h longer than the 12 h interval", "alghamdi2019",
         np.arange(6) * 12.0, np.full(6, 250.0), 14.0),
        ("Resendiz-Galvan, transit N = 4, 250 mg q12h", "resendiz2025",
         np.arange(8) * 12.0, np.full(8, 250.0), None),
    ]
    for label, name, td, ad, lag in cases:
        spec = pk.get_model(name)
        cov = pk.Covariates.create(weight_kg=60.0, crcl_ml_min=90.0, ffm_kg=45.0,
                                   crcl_56m_ml_min=110.0, age_years=40.0)
        ts = np.unique(np.concatenate([np.linspace(0.05, float(td.max()) + 30.0, 60),
                                       td + 0.5, td + 2.0]))
        worst = 0.0
        for _ in range(3):
            eta = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega)
            par = pk.individual_parameters(spec, cov, eta[None, :])
            tlag = float(par.tlag_h[0]) if lag is None else lag
            # lag override: shift the engine's dose times so both see the same entry times
            td_engine = td if lag is None else td + (lag - float(par.tlag_h[0]))
            eng = pk.predict(spec, cov, eta[None, :], td_engine, ad, ts)[0]
            ode = ode_conc(float(par.cl_l_h[0]), float(par.v_l[0]), float(par.ka_per_h[0]), tlag,
                           td, ad, ts, n_transit=spec.n_transit,
                           mtt_h=float(par.mtt_h[0]) if spec.n_transit else 1.0)
            mask = ode > 1e-3
            worst = max(worst, float(np.max(np.abs(eng[mask] - ode[mask]) / ode[mask])))
        out.append((label, worst))
    return out


@dataclass(frozen=True)
class EngineChecks:
    ode: list[tuple[str, float]]  # (dose history, largest relative difference)
    typical: list[Check]
    monograph: list[Check]
    notes: list[str]  # where model and monograph differ


def engine_checks() -> EngineChecks:
    """Every check of section 4 (one task: about half a second)."""
    mono, notes = monograph_checks()
    return EngineChecks(ode_agreement(), typical_value_checks(), mono, notes)
