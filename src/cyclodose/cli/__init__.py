"""Command-line interface: one module per command, all on one Typer app."""

# importing the command modules registers their commands
from cyclodose.cli import (  # noqa: F401
    assess,
    audit,
    backup,
    export,
    info,
    models,
    pta,
    serve,
    simulate,
    tdm,
    users,
)
from cyclodose.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
