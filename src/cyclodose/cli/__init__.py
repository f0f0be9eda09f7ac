"""Command-line interface: one module per command, all on one Typer app."""

from cyclodose.cli import assess, info  # noqa: F401  (registers the commands)
from cyclodose.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
