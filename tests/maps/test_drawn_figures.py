"""The public set copies only figures it would draw byte-identically from the same data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

import maps
from maps.figures import DrawnFigures, Run
from maps.public import PublicPolicy
from maps.public_site import publish_public
from tests.maps.builders import make_run_inputs


def _write_args(table: pd.DataFrame, crop: str, out: Path, *, year: int) -> Path:
    """A stand-in drawing: its file is its arguments, so a copy of other data would show."""
    out.write_text(f"{crop} {year}\n{table.to_csv(index=False)}", encoding="utf-8")
    return out


def test_equal_arguments_are_copied_different_ones_drawn(tmp_path: Path) -> None:
    table = pd.DataFrame({"district_id": ["D1", "D2"], "area_ha": [1.5, 2.0]})
    drawn = DrawnFigures()
    first = drawn.draw(_write_args, table, "opium_poppy", out=tmp_path / "a.png", year=2025)
    same = drawn.draw(_write_args, table.copy(), "opium_poppy", out=tmp_path / "b.png", year=2025)
    assert drawn.copied == [same] and drawn.drawn == [first]
    assert same.read_bytes() == first.read_bytes()
    # one cell differs (a figure of restricted data): drawn, never copied
    other = table.copy()
    other.loc[1, "area_ha"] = 2.5
    changed = drawn.draw(_write_args, other, "opium_poppy", out=tmp_path / "c.png", year=2025)
    assert changed not in drawn.copied
    assert "2.5" in changed.read_text() and "2.5" not in first.read_text()
    # an added column (household answers, say) is other data too
    extra = table.assign(feedback_share=[1.0, 0.0])
    wider = drawn.draw(_write_args, extra, "opium_poppy", out=tmp_path / "d.png", year=2025)
    assert wider not in drawn.copied and "feedback_share" in wider.read_text()
    # a keyword differs: drawn
    later = drawn.draw(_write_args, table, "opium_poppy", out=tmp_path / "e.png", year=2026)
    assert later not in drawn.copied and later.read_text().startswith("opium_poppy 2026")


def _publish(tmp_path: Path, *, household_cell: bool) -> tuple[Path, dict]:
    inputs = make_run_inputs(tmp_path / "workspace")
    kwargs = inputs.kwargs()
    if household_cell:  # one household's answers in D001: restricted, suppressed in public
        change = kwargs["programme_change"].copy()
        change["feedback_n_households"] = [1, 9, 9]
        change["feedback_share_growing_poppy"] = [1.0, 0.2, 0.4]
        kwargs["programme_change"] = change
    return inputs.run_dir, maps.publish_run(inputs.run_dir, **kwargs)


def test_copied_public_figures_are_what_drawing_them_writes(tmp_path: Path) -> None:
    run_dir, paths = _publish(tmp_path, household_cell=False)
    copied = paths["public"]["copied"]
    names = {p.name for p in copied}
    assert "thumbnail.png" in names and "map_opium_poppy_area_ha.png" in names
    assert all(p.parent == run_dir / "public" for p in copied)
    # the same public set drawn figure by figure, without copying, in a copy of the run
    again = tmp_path / "again" / run_dir.name
    shutil.copytree(run_dir, again, ignore=shutil.ignore_patterns("public"))
    inputs = make_run_inputs(tmp_path / "inputs")
    kwargs = inputs.kwargs()
    run = Run(again, year=inputs.manifest["year"], run_id=inputs.manifest["run_id"], synthetic=True)
    publish_public(
        run,
        PublicPolicy(),
        districts=kwargs["districts"],
        district_estimates=kwargs["district_estimates"],
        programme_change=kwargs["programme_change"],
        class_map=kwargs["class_map"],
        programmes=kwargs["programmes"],
        manifest=kwargs["manifest"],
        history=kwargs["history"],
        drawn=None,
    )
    pngs = sorted(p.name for p in (run_dir / "public").glob("*.png"))
    assert pngs == sorted(p.name for p in (again / "public").glob("*.png"))
    for name in pngs:
        assert (run_dir / "public" / name).read_bytes() == (again / "public" / name).read_bytes()
    for path in copied:
        assert path.read_bytes() == (run_dir / path.name).read_bytes()


def test_a_figure_with_restricted_data_is_never_copied(tmp_path: Path) -> None:
    run_dir, paths = _publish(tmp_path, household_cell=True)
    public = run_dir / "public"
    names = {p.name for p in paths["public"]["copied"]}
    # the programme chart's restricted input has the one-household cell; the public one not
    assert (public / "chart_programmes.png").is_file()
    assert "chart_programmes.png" not in names
    # restricted-only figures (class map, NDVI) never reach the public set
    assert not (public / "map_classes.png").exists() and not (public / "map_ndvi.png").exists()
    # district maps carry no household answer: the same either way, copied
    assert "map_opium_poppy_area_ha.png" in names
