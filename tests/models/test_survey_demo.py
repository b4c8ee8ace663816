"""load_plots reads the demo generator's survey exports (plots/<year>/survey_plots.geojson and
kobo_export.csv), written here with the generator's own functions on a small region."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import shapely

from models.survey import load_plots

synthetic = pytest.importorskip("synthetic")
survey_writer = pytest.importorskip("synthetic.survey")

YEAR = 2024


@pytest.fixture(scope="module")
def demo_survey(tmp_path_factory: pytest.TempPathFactory):
    truth = synthetic.generate_truth(42, years=(2024, 2025), size=(300, 240))
    survey = survey_writer.draw_survey(truth, YEAR)
    folder = tmp_path_factory.mktemp("plots") / str(YEAR)
    folder.mkdir()
    survey.to_file(folder / "survey_plots.geojson", driver="GeoJSON", COORDINATE_PRECISION=7)
    (folder / "kobo_export.csv").write_text(
        survey_writer.kobo_export_text(survey, truth, YEAR), encoding="utf-8"
    )
    return truth, survey, folder


@pytest.mark.parametrize("name", ["survey_plots.geojson", "kobo_export.csv"])
def test_demo_exports_are_accepted_whole(demo_survey, name: str) -> None:
    truth, survey, folder = demo_survey
    plots, report = load_plots(folder / name, districts=truth.districts)
    assert report.ok, report.summary()
    assert report.total_rows == len(survey) == len(plots)
    expected = survey.set_index("plot_id")
    got = plots.set_index("plot_id").loc[expected.index]
    assert got["crop"].tolist() == expected["crop"].tolist()
    assert got["land_cover"].tolist() == expected["land_cover"].tolist()
    assert got["district_id"].tolist() == expected["district_id"].tolist()
    assert (got["survey_date"] == pd.to_datetime(expected["survey_date"])).all()
    np.testing.assert_allclose(got["gps_accuracy_m"], expected["gps_accuracy_m"], rtol=1e-6)
    # the generator's measured areas are geodesic too: the stated value is kept as is
    np.testing.assert_allclose(
        got["measured_area_ha"], expected["measured_area_ha"].astype(float), rtol=1e-6
    )
    # geometry round-trips to the 7 decimals GPS exports keep (about 1 cm)
    distance = shapely.hausdorff_distance(got.geometry.values, expected.geometry.values)
    assert float(distance.max()) < 1e-6


def test_area_from_the_boundary_matches_the_generators_area(demo_survey) -> None:
    # without the measured_area_ha column, load_plots computes each field's area from the
    # walked geoshape; the generator computed it independently (and rounded to 0.0001 ha)
    truth, survey, folder = demo_survey
    source = folder / "kobo_export.csv"
    with open(source, encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    drop = table[0].index("plot/measured_area_ha")
    stripped = folder / "kobo_without_area.csv"
    with open(stripped, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL).writerows(
            [row[:drop] + row[drop + 1 :] for row in table]
        )
    plots, report = load_plots(stripped, districts=truth.districts)
    assert report.ok
    fields = plots[plots.geom_type == "Polygon"].set_index("plot_id")
    expected = survey.set_index("plot_id").loc[fields.index, "measured_area_ha"].astype(float)
    assert len(fields) > 20
    np.testing.assert_allclose(fields["measured_area_ha"], expected, atol=6e-5)
