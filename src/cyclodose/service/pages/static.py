"""The package's static files (CSS, our JS, vendored htmx and plotly.js) under /static."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter()
ROOT = Path(str(resources.files("cyclodose.service").joinpath("static"))).resolve()
_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
          ".woff2": "font/woff2", ".png": "image/png", ".ico": "image/x-icon"}


@router.get("/static/{path:path}", include_in_schema=False)
def static_file(path: str) -> FileResponse:
    target = (ROOT / path).resolve()
    # Refuse anything outside the static folder (../ tricks) and anything not a known type.
    if not target.is_relative_to(ROOT) or not target.is_file() or target.suffix not in _TYPES:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(target, media_type=_TYPES[target.suffix],
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})
