"""The general concentration plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.render.plots import (
    Band,
    Curve,
    FigureSpec,
    Points,
    Window,
    concentration_figure,
    write_concentration_plot,
)


def _spec() -> FigureSpec:
    t = np.linspace(0, 24, 50)
    return FigureSpec(curves=[Curve(t, 20 * np.exp(-t / 20), "fit")],
                      bands=[Band(t, 15 * np.exp(-t / 20), 25 * np.exp(-t / 20), "90 % band")],
                      points=[Points([2.0, 6.0], [19.0, 1.0], blq=[False, True])],
                      window=Window(20, 30), doses_h=[0.0, 12.0])


def test_figure_has_every_layer() -> None:
    fig = concentration_figure(_spec())
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert any("target peak window 20–30 mg/L" in x for x in labels)
    assert any("toxicity ceiling 30 mg/L" in x for x in labels)
    assert "fit" in labels and "90 % band" in labels and "measured" in labels
    assert any("below quantification" in x for x in labels)
    assert ax.get_ylim()[1] > 30


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_write(tmp_path: Path, suffix: str) -> None:
    out = write_concentration_plot(_spec(), tmp_path / f"p{suffix}")
    assert out.stat().st_size > 1000


def test_bad_suffix_is_a_case_error(tmp_path: Path) -> None:
    with pytest.raises(CaseError) as exc:
        write_concentration_plot(_spec(), tmp_path / "p.gif")
    assert exc.value.problems[0].field == "--plot"
