"""Paginated lists: `?limit=&offset=` in, `Page[T]` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


def _params(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
            offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(_params)]
