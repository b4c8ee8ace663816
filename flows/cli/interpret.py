"""``admon interpret``: the state of a sample's interpretation, its export, Collect Earth Online."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from core.errors import AdmonError
from flows.cli.common import (
    ConfigOption,
    StoreOption,
    WorkspaceOption,
    YearOption,
    app,
    console,
    fail,
    workspace_for,
)

interpret_app = typer.Typer(
    help="The reference sample's interpretation: progress and agreement, export, Collect Earth "
    "Online import. Interpreters label on the /interpret page of admon serve.",
    no_args_is_help=True,
)
app.add_typer(interpret_app, name="interpret")


def _open(
    config: Path | None, workspace: Path | None, store: str | None, year: int | None
) -> tuple[Path, Any, Any]:
    """The year's newest run with a sample, its interpretation package and the open store."""
    from flows.runs import sample_run
    from models.interpretation import load_package
    from models.store import open_store

    where = workspace_for(config, workspace, store)
    run_dir = sample_run(where.root, year)
    package = load_package(run_dir / "interpretation")
    return run_dir, package, open_store(where.store_url, workspace=where.root)


@interpret_app.command("status")
def status(
    config: ConfigOption = None,
    year: YearOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """How much of the sample is labelled, and how far interpreters agree."""
    from models.interpretation import interpreter_agreement, progress

    try:
        run_dir, package, opened = _open(config, workspace, store, year)
        with opened:
            labels = opened.get_labels(package.run_id)
    except AdmonError as exc:
        fail(exc)
    done = progress(package, labels)
    console.print(
        f"{package.year} ({package.run_id}): {done['labelled']} of {done['total']} points "
        f"labelled by {done['interpreters']} interpreters; second looks {done['overlap_done']} "
        f"of {done['overlap_total']}; {done['adjudicated']} third looks"
    )
    agreement = interpreter_agreement(labels)
    if not agreement.n_points:
        console.print("No point has two looks yet: no agreement to report.")
        return
    console.print(
        f"Agreement on {agreement.n_points} points: {agreement.overall:.1%}, Cohen's kappa "
        f"{'n/a' if agreement.kappa is None else f'{agreement.kappa:.3f}'}; "
        f"{len(agreement.disagreements)} disagreements"
    )
    view = Table(title="Per class")
    for column in ("class", "first", "second", "both", "agreement", "kappa"):
        view.add_column(column)
    for row in agreement.per_class:
        kappa = "n/a" if row["kappa"] is None else f"{row['kappa']:.3f}"
        view.add_row(row["class"], str(row["n_first"]), str(row["n_second"]),
                     str(row["n_both"]), f"{row['agreement']:.3f}", kappa)  # fmt: skip
    console.print(view)


@interpret_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="GeoPackage to write.")] = Path(
        "reference_labelled.gpkg"
    ),
    config: ConfigOption = None,
    year: YearOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Write the labelled part of the sample (every design column, the final labels)."""
    import geopandas as gpd

    from core.io import write_table
    from models.interpretation import labelled_sample

    try:
        run_dir, package, opened = _open(config, workspace, store, year)
        with opened:
            labels = opened.get_labels(package.run_id)
        sample = gpd.read_file(run_dir / "reference_sample.gpkg")
        labelled = labelled_sample(sample, labels)
        write_table(labelled.frame, out, layer="reference_labelled")
    except AdmonError as exc:
        fail(exc)
    console.print(f"{labelled.n_labelled} of {labelled.n_points} points labelled: {out}")


@interpret_app.command("import-ceo")
def import_ceo(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CEO's sample data CSV.")
    ],
    config: ConfigOption = None,
    year: YearOption = None,
    question: Annotated[
        str, typer.Option(help="The CEO survey question whose answers are the land cover.")
    ] = "Land cover",
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Store the answers of a Collect Earth Online project as labels of the sample."""
    from core.errors import InvalidInputError
    from models.interpretation import read_ceo_answers

    try:
        run_dir, package, opened = _open(config, workspace, store, year)
        answers = read_ceo_answers(file, question=question)
        unknown = sorted(set(answers.labels["sample_id"]) - set(package.points.index))
        if unknown:
            raise InvalidInputError(
                f"{file.name}: plots {unknown[:10]} are not points of run {package.run_id}; "
                "was the CEO project made from this run's ceo_plots.csv?"
            )
        rows = [
            {"run_id": package.run_id, "sample_id": int(r.sample_id), "interpreter": r.interpreter,
             "kind": "interpretation", "reference_class": r.reference_class,
             "unsure": int(r.unsure), "source": "ceo"}
            for r in answers.labels.itertuples(index=False)
        ]  # fmt: skip
        with opened:
            opened.put_labels(rows)
    except AdmonError as exc:
        fail(exc)
    console.print(
        f"{file.name}: {len(rows)} labels stored for run {package.run_id}; "
        f"{len(answers.flagged)} flagged, {len(answers.unanswered)} unanswered plots skipped"
    )
