"""/drug: the monograph browser over the API's own drug search (typo-tolerant, as the CLI)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from cyclodose import knowledge
from cyclodose.errors import CaseError
from cyclodose.service.deps import OptionalUser, knowledge_access
from cyclodose.service.pages.render import page
from cyclodose.service.routes import knowledge as knowledge_routes

router = APIRouter()
METHOD_NOTE = {
    "exact": "exactly",
    "normalised": "ignoring case, accents and punctuation",
    "spelling variant": "as a spelling variant (c/k, y/i, ts/c, ph/f)",
    "one typo": "allowing one typo: check that this is the drug you meant",
}


@router.get("/drug", response_class=HTMLResponse, dependencies=[Depends(knowledge_access)])
def drug_page(request: Request, principal: OptionalUser, q: str = "cycloserine") -> HTMLResponse:
    if principal is not None:
        request.state.page_user = principal
        request.state.page_csrf = principal.csrf_token or ""
    info, error = None, None
    try:
        if not q.strip():
            raise CaseError.single("q", "type a name, brand, CAS number or ATC code")
        info = knowledge_routes.drug(q[:200])
    except CaseError as exc:
        error = exc.problems[0].reason
    titles = {name: knowledge.section(name).title for name in knowledge.sections()}
    status = 200 if info is not None else 422
    return page(request, "drug.html", status_code=status, active="drug", q=q, info=info,
                error=error, titles=titles, method_note=METHOD_NOTE)
