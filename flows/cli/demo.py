"""``admon demo``: the synthetic demo region, end to end, checked against its truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError
from core.io import read_csv_table
from flows.cli.common import (
    SerialOption,
    WorkersOption,
    WorkspaceOption,
    app,
    console,
    fail,
)


@app.command()
def demo(
    workspace: WorkspaceOption = Path("workspace"),
    scale: Annotated[int, typer.Option(min=1, help="Build a K-times larger synthetic region.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic region.")] = 42,
    serial: SerialOption = None,
    n_workers: WorkersOption = None,
    region_only: Annotated[
        bool,
        typer.Option(
            help="Build the synthetic region and stop: its files can stand in for a real "
            "survey's (README, 'Using it on real data')."
        ),
    ] = False,
) -> None:
    """Build the synthetic demo region, run the annual survey for its years, publish.

    Every number is compared with the region's known truth at the end.
    """
    from flows.runtime import configure_environment, launch_server

    configure_environment(workspace)
    if not region_only:
        launch_server()  # starts while the region is checked and the flow is imported
    from flows.demo import compare_with_truth, prepare_demo
    from flows.progress import SurveyProgress
    from flows.runner import run_survey

    try:
        with console.status("Building the synthetic demo region (once per workspace)..."):
            config_path, region = prepare_demo(workspace, scale=scale, seed=seed)
        console.print(f"Demo region (SYNTHETIC): {region.root}")
        if region_only:
            return
        with SurveyProgress(workspace, list(region.years), console=console):
            results = run_survey(config_path, serial=serial, n_workers=n_workers)
    except AdmonError as exc:
        fail(exc)
    import pandas as pd

    estimates = pd.concat(
        [read_csv_table(r["district_estimates"], dtype={"district_id": str}) for r in results],
        ignore_index=True,
    )
    comparison = compare_with_truth(estimates, Path(region.truth))
    _print_estimates(comparison.table)
    console.print(
        f"95% intervals contain the true hectares for {comparison.covered} of {comparison.total} "
        f"district-year-crop estimates ({comparison.share:.0%}); truth: {region.truth}"
    )
    published = Path(workspace).resolve() / "published"
    console.print(f"\nPublished gallery: [bold]{published / 'restricted' / 'index.html'}[/]")
    console.print(f"Public site: [bold]{published / 'public' / 'index.html'}[/] (aggregates only)")


def _print_estimates(table) -> None:  # type: ignore[no-untyped-def]
    view = Table(title="Demo estimates vs. truth (SYNTHETIC)", show_lines=False)
    for column in (
        "year",
        "district",
        "crop",
        "estimate ha",
        "95% interval",
        "true ha",
        "inside",
        "method",
    ):
        view.add_column(column, justify="right" if column.endswith("ha") else "left")
    for row in table.sort_values(["year", "crop", "district_id"]).itertuples():
        view.add_row(
            str(row.year),
            f"{row.district_id} {row.district_name}",
            row.crop,
            f"{row.area_ha:,.1f}",
            f"{row.ci_low_ha:,.1f} to {row.ci_high_ha:,.1f}",
            f"{row.true_ha:,.1f}",
            "yes" if row.inside else "[red]no[/]",
            row.method,
        )
    console.print(view)
