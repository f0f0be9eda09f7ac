"""Model specifications: names, variability scale, residual error, validity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.pk import Covariates, get_model, individual_parameters, list_models, validity_reasons


def test_list_models_default_first() -> None:
    names = [m.name for m in list_models()]
    assert names == ["alghamdi2019", "resendiz2025"]
    assert get_model(None).name == "alghamdi2019"


def test_unknown_model_names_field_and_valid_names() -> None:
    with pytest.raises(CaseError) as exc:
        get_model("bogus")
    (problem,) = exc.value.problems
    assert problem.field == "settings.model"
    assert "alghamdi2019" in problem.reason and "resendiz2025" in problem.reason


def test_alghamdi_iiv_published_as_sd_is_squared() -> None:
    # Alghamdi 2019 final model: IIV SDs tlag 0.409, ka 1.52, V/F 0.174, CL/F 0.353
    spec = get_model("alghamdi2019")
    assert spec.eta_names == ("tlag", "ka", "v", "cl")
    assert np.allclose(np.diag(spec.omega), np.array([0.409, 1.52, 0.174, 0.353]) ** 2)
    assert spec.iov == {"cl": 0.190}
    assert spec.prop_sd == 0.190 and spec.add_sd_mg_l == 0.0


def test_resendiz_variability_and_residual() -> None:
    # Resendiz-Galvan 2025: IIV CL 0.341; residual 4.58 % proportional + 0.856 mg/L additive
    spec = get_model("resendiz2025")
    assert spec.eta_names == ("cl",)
    assert spec.omega[0, 0] == pytest.approx(0.341**2)
    sd = spec.residual_sd(np.array([0.0, 20.0]))
    assert sd[0] == pytest.approx(0.856)
    assert sd[1] == pytest.approx(np.hypot(0.0458 * 20.0, 0.856))


def test_alghamdi_residual_is_proportional() -> None:
    assert get_model("alghamdi2019").residual_sd(25.0) == pytest.approx(0.19 * 25.0)


def test_typical_alghamdi_parameters() -> None:
    # pharmacology.md §1: typical TB patient (59 kg, CrCL 89.1) CL/F 1.03 L/h, t1/2 16.7 h (derived)
    par = individual_parameters(get_model(), Covariates.create(weight_kg=59.0, crcl_ml_min=89.1))
    assert par.cl_l_h[0] == pytest.approx(1.03, rel=0.01)
    assert par.v_l[0] == pytest.approx(24.9)
    assert par.half_life_h[0] == pytest.approx(16.7, rel=0.01)
    assert par.tlag_h[0] == 0.326 and par.ka_per_h[0] == 6.61 and np.isnan(par.mtt_h[0])


def test_typical_resendiz_parameters() -> None:
    # pharmacology.md §2: FFM 38.6 kg, RF 1 -> CL 0.901 + 0.589 = 1.49 L/h, V 37.0 L
    cov = Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0)
    par = individual_parameters(get_model("resendiz2025"), cov)
    assert par.cl_l_h[0] == pytest.approx(1.49)
    assert par.v_l[0] == pytest.approx(37.0)
    assert par.ktr_per_h[0] == pytest.approx(5 / 0.610)  # (N + 1) / MTT, N = 4


def test_eta_scales_parameters_log_normally() -> None:
    spec = get_model()
    cov = Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
    eta = np.array([[0.0, 0.0, 0.0, 0.0], [0.1, -0.2, 0.3, np.log(2.0)]])
    par = individual_parameters(spec, cov, eta)
    assert par.size == 2
    assert par.cl_l_h[1] / par.cl_l_h[0] == pytest.approx(2.0)
    assert par.v_l[1] / par.v_l[0] == pytest.approx(np.exp(0.3))
    assert par.tlag_h[1] / par.tlag_h[0] == pytest.approx(np.exp(0.1))


def test_wrong_eta_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="eta must have shape"):
        individual_parameters(get_model(), Covariates.create(weight_kg=60, crcl_ml_min=90),
                              np.zeros(3))


def test_summary_is_json_serialisable() -> None:
    for spec in list_models():
        data = json.loads(json.dumps(spec.summary()))
        assert data["name"] == spec.name and data["citation"]
        assert set(data["iiv_sd"]) == set(spec.eta_names)


def test_validity_flags_child_severe_renal_dialysis_and_range() -> None:
    spec = get_model()
    inside = Covariates.create(weight_kg=60, crcl_ml_min=90, age_years=40)
    assert validity_reasons(spec, inside) == []
    child = Covariates.create(weight_kg=25, crcl_ml_min=90, age_years=8)
    reasons = validity_reasons(spec, child)
    assert any("age 8" in r for r in reasons)
    assert any("weight_kg 25.0 kg" in r for r in reasons)  # below the IQR's lower Tukey fence
    renal = validity_reasons(spec, Covariates.create(weight_kg=60, crcl_ml_min=20, age_years=50))
    assert any("CrCl 20 mL/min" in r for r in renal)
    dial = validity_reasons(spec,
        Covariates.create(weight_kg=60, crcl_ml_min=10, age_years=50, dialysis=1.0))
    assert any("dialysis" in r for r in dial)
