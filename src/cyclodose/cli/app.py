"""The Typer application and the one place user errors become exit code 2."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from cyclodose.errors import CaseError
from cyclodose.render.text import Table

__all__ = ["Table", "app", "console", "err_console", "print_json", "user_errors"]

app = typer.Typer(
    name="cyclodose",
    help="Decision support for cycloserine therapy in drug-resistant tuberculosis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _version(value: bool) -> None:
    if value:
        from cyclodose import __version__

        sys.stdout.write(f"cyclodose {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Decision support for cycloserine therapy in drug-resistant tuberculosis."""

err_console = Console(stderr=True, soft_wrap=True)  # one problem, one line

F = TypeVar("F", bound=Callable[..., Any])


EXIT_USER_ERROR = 2


def user_errors(fn: F) -> F:
    """Print each CaseError problem on its own line (field: reason) and exit 2; no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CaseError as exc:
            for problem in exc.problems:
                err_console.print(f"error: {problem.field}: {problem.reason}", markup=False,
                                  highlight=False)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, unstyled."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
