"""``admon init`` and ``admon check``: a survey folder to fill in, and every input checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError
from flows.cli.common import app, console, fail


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder of the new survey (made if absent).")],
    name: Annotated[str, typer.Option(help="Survey name, printed on maps and reports.")] = (
        "Annual survey"
    ),
    year: Annotated[
        list[int] | None,  # noqa: UP007
        typer.Option(help="Survey (harvest) year(s); default the last finished season's."),
    ] = None,
) -> None:
    """Write a survey folder: a commented survey.toml, the folder layout and a README."""
    from flows.survey_folder import init_survey_folder

    try:
        written = init_survey_folder(folder, name=name, years=year)
    except AdmonError as exc:
        fail(exc)
    console.print(f"Survey folder: {folder.resolve()}")
    console.print(f"  {written[0]}  (edit it: district columns, years, season)")
    console.print(f"  {written[1]}  (what goes where)")
    console.print(
        "Next: put the districts, imagery and drone images in place (see the README there), "
        f"load the field data with: admon upload FILE --team TEAM --config {written[0]}\n"
        f"then: admon check {written[0]}",
        highlight=False,
    )


@app.command()
def check(
    config: Annotated[Path, typer.Argument(help="Survey configuration (TOML).")],
) -> None:
    """Check every input of a survey configuration and list all problems at once."""
    from flows.check import check_survey

    findings = check_survey(config)
    view = Table(title=f"admon check {config}", show_lines=False)
    for column in ("", "key", "finding"):
        view.add_column(column, overflow="fold")
    for finding in findings:
        mark = "[red]problem[/]" if finding.problem else "[green]ok[/]"
        view.add_row(mark, finding.key, finding.message)
    console.print(view, highlight=False)
    problems = sum(f.problem for f in findings)
    if problems:
        console.print(f"[bold red]{problems} problems[/]: fix them before admon run")
        raise typer.Exit(code=1)
    console.print("[bold green]No problem found.[/] Next: admon run " + str(config))
