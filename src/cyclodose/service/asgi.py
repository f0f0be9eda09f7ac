"""The factory uvicorn calls in each worker process (`cyclodose serve`)."""

from __future__ import annotations

from fastapi import FastAPI

from cyclodose.service.app import create_app
from cyclodose.service.middleware import configure_logging
from cyclodose.service.settings import Settings


def create() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
