"""The worked examples of data/README.md ("Form profiles"), one per exporter, read as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.survey import load_plots

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
EXPORTS, FORMS = EXAMPLES / "exporters", EXAMPLES / "forms"
HOPONG_HA = [0.4, 0.12, 0.976, 1.6]


@pytest.mark.parametrize(
    ("export", "form", "crops", "areas_ha"),
    [
        ("kobo_xlsx_labels_my.xlsx", "poppy_demo.toml", ["opium_poppy", "cannabis", "opium_poppy"], [0.35, 0.12, 1.2]),
        ("kobo_csv_labels_en.csv", None, None, None),
        ("odk_default.zip", "poppy_demo.toml", ["opium_poppy", "opium_poppy", "cannabis"], [1.2, 0.35, 0.12]),
        ("hopong_kobo_labels_en.xlsx", "hopong_profile.toml", ["opium_poppy", "cannabis", "opium_poppy", "other"], HOPONG_HA),
        ("hopong_odk.zip", "hopong_profile.toml", ["opium_poppy", "other", "opium_poppy", "cannabis"], [0.976, 1.6, 0.4, 0.12]),
        ("hopong_google_earth.kml", None, ["opium_poppy", "opium_poppy", "cannabis", "other"], [0.4, 0.976, 0.12, 1.6]),
        ("hopong_etrex30.gpx", "garmin_colours.toml", ["opium_poppy", "cannabis", "other"], [0.4, 0.12]),
    ],
)  # fmt: skip
def test_worked_example(export, form, crops, areas_ha) -> None:
    if crops is None:
        from core.errors import InvalidInputError

        # Kobo's CSV export drops repeat groups: only the visits are in it, no plot
        with pytest.raises(InvalidInputError, match="no crop column"):
            load_plots(EXPORTS / export)
        return
    plots, report = load_plots(EXPORTS / export, form=FORMS / form if form else None)
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == crops
    measured = plots["measured_area_ha"].dropna().tolist()
    assert measured == pytest.approx(areas_ha, rel=0.05)
