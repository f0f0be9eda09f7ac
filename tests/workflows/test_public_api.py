"""The use cases as the package exports them (issue #8): plain functions returning typed
pydantic results, whichever modules happen to be imported already."""

from __future__ import annotations

import importlib
import pkgutil

from pydantic import BaseModel

import cyclodose
import cyclodose.workflows as workflows

USE_CASES = ("assess", "tdm_consult", "apriori", "simulate", "pta")
RESULTS = ("Assessment", "TdmConsult", "AprioriResult", "Simulation", "PtaResult")


def test_use_cases_are_functions_even_after_every_module_is_imported() -> None:
    # A submodule named like a use case would shadow the lazy attribute: guard against it.
    for info in pkgutil.walk_packages(workflows.__path__, "cyclodose.workflows."):
        importlib.import_module(info.name)
    for name in USE_CASES:
        assert callable(getattr(workflows, name)), name
        assert getattr(cyclodose, name) is getattr(workflows, name), name
    for name in RESULTS:
        assert issubclass(getattr(workflows, name), BaseModel), name
    assert cyclodose.Assessment is workflows.Assessment
