"""The clinician's web pages: server-rendered Jinja2, htmx for partial updates, plotly.js
for plots, all served from the package (no CDN). One more shell over the use cases: the
pages render the typed results the API returns and compute nothing clinical.

`router` holds every page; the app factory includes it with one line.
"""

from fastapi import APIRouter

from cyclodose.service.pages import account, admin, assess, drug, patients, pta, static

router = APIRouter(include_in_schema=False)
for module in (static, account, assess, drug, patients, admin, pta):
    router.include_router(module.router)

__all__ = ["router"]
