"""What every storage command shares: the server's settings and a migrated database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cyclodose.errors import CaseError

if TYPE_CHECKING:
    from cyclodose.service.settings import Settings
    from cyclodose.service.storage import Database

CLI_ACTOR = "cli"


def open_storage() -> tuple[Settings, Database]:
    """The configured data folder's database, created and migrated first."""
    from pydantic import ValidationError

    from cyclodose.service.settings import Settings
    from cyclodose.service.storage import Database

    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CaseError.single("CYCLODOSE_" + str(err["loc"][0]).upper(), err["msg"]) from None
    db = Database(settings.url)
    db.migrate()
    return settings, db


def now() -> datetime:
    return datetime.now(UTC)
