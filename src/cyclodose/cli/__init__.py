"""Command-line interface: one module per command, all on one Typer app."""

# importing the command modules registers their commands
from cyclodose.cli import assess, export, info, models, pta, simulate, tdm  # noqa: F401
from cyclodose.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
