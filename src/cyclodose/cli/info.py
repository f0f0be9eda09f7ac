"""`cyclodose info` (what the knowledge base says) and `cyclodose schema [case|assessment]`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.panel import Panel
from rich.text import Text

from cyclodose import knowledge
from cyclodose.cli.app import Table, app, console, print_json, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import case_json_schema
from cyclodose.knowledge import Fact, Match
from cyclodose.render.info import identity, info_document

_METHOD_NOTE = {
    "exact": "exact name",
    "normalised": "ignoring case, accents, punctuation and script",
    "spelling variant": "as a spelling variant (c/k, y/i, ts/c, ph/f)",
    "one typo": "allowing one typo: check this is the drug you meant",
}


@app.command()
@user_errors
def info(
    query: Annotated[str, typer.Argument(help="A name, synonym, brand, CAS number or ATC code.")],
    section: Annotated[
        str | None, typer.Option("--section", "-s", help="Show only this section.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the monograph (and cited sources) say about cycloserine, found by any name."""
    found = knowledge.find(query)
    if not isinstance(found, Match):
        raise CaseError.single(
            "query",
            f"no drug or brand named {query!r} in the knowledge base; closest names: "
            + ", ".join(found.suggestions),
        )
    try:
        chosen = [knowledge.section(section)] if section is not None else None
    except knowledge.UnknownSectionError as exc:
        raise CaseError.single(
            "--section", f"unknown section {section!r}; valid sections: {', '.join(exc.valid)}"
        ) from None
    names = [s.name for s in chosen] if chosen else knowledge.sections()
    shown = [f for name in names for f in knowledge.facts_in_section(name)]
    if as_json:
        print_json(info_document(found, names, shown))
    else:
        _render(found, names, shown)


@app.command()
@user_errors
def schema(
    what: Annotated[str, typer.Argument(help="case (the input document) or assessment (the "
                                        "result of `cyclodose assess --json`)")] = "case",
) -> None:
    """Print a JSON Schema: the Case document (default) or the Assessment."""
    if what == "case":
        print_json(case_json_schema())
    elif what == "assessment":
        from cyclodose.workflows.assessment import Assessment

        print_json(Assessment.model_json_schema())
    else:
        raise CaseError.single("schema", f"unknown schema {what!r}; valid: case, assessment")


def _render(found: Match, section_names: list[str], shown: list[Fact]) -> None:
    ident = identity()
    head = Table.grid(padding=(0, 2))
    head.add_row("IUPAC name", ident["iupac_name"])
    mw = f"molecular weight {ident['molecular_weight_g_mol']} g/mol"
    head.add_row("Formula", f"{ident['formula']} ({mw})")
    head.add_row("CAS", ident["cas"])
    head.add_row("ATC / ATCvet", f"{ident['atc']} / {ident['atcvet']}")
    console.print(Panel(head, title=Text(ident["inn"], style="bold"), expand=False))

    how = Text()
    how.append(f"{found.query!r} matched ")
    how.append(found.name, style="bold")
    how.append(f" ({', '.join(found.kinds)}), {_METHOD_NOTE[found.method]}.")
    console.print(how, style="yellow" if found.method == "one typo" else None)
    if found.countries:
        console.print(Text(f"Marketed as {found.name} in: {', '.join(found.countries)}."))

    by_section = {s: [f for f in shown if f.section == s] for s in section_names}
    titles = {name: knowledge.section(name).title for name in section_names}
    for name, items in by_section.items():
        console.rule(Text(f"{titles[name]} [--section {name}]", style="bold"))
        for f in items:
            line = Text()
            line.append(f.title, style="bold")
            line.append(f"  {f.id}\n", style="dim")
            line.append(f.text)
            if f.caveat:
                line.append(f"\nCaveat: {f.caveat}", style="yellow")
            line.append(f"\nSource: {knowledge.source_ref(f.id)}", style="dim")
            console.print(line)
            console.print()
