"""Text building blocks shared by every terminal rendering."""

from __future__ import annotations

from typing import Any

from rich.table import Table as RichTable


class Table(RichTable):
    """A Rich table whose cells fold instead of ending in an ellipsis: a cut-off date, dose or
    unit would hide clinical information."""

    def add_column(self, *args: Any, overflow: Any = "fold", **kwargs: Any) -> None:
        super().add_column(*args, overflow=overflow, **kwargs)
