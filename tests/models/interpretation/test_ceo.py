"""Collect Earth Online: the sample as a CEO project, and CEO's sample data export read back."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.errors import InvalidInputError
from models.interpretation import read_ceo_answers, write_ceo_project

SAMPLE_HEADERS = (
    "plotid,sampleid,sample_internal_id,lon,lat,email,flagged,collection_time,"
    "analysis_duration,used_geodash,used_kml,imagery_title,imagery_attributions,sample_geom,"
    "confidence,confidence_comment"
)


def ceo_sample_export(rows, question="Land cover") -> bytes:
    """CEO's "Download Sample Data" CSV, as ``dump-project-raw-data!`` writes it.

    Imitates openforis/collect-earth-online ``src/clj/collect_earth_online/db/projects.clj``
    (``sample-base-headers``, then the survey questions, then ``, Guest Interpreters``;
    a UTF-8 BOM before the header, rows joined by "\\n", every row ending in "," and the
    guest names) with the values of a real record (``collection_time`` "2024-10-21 17:01",
    ``analysis_duration`` "111.9 secs", ``imagery_title`` "Planet NICFI Public",
    ``sample_geom`` "POINT(lon lat)"). A project made from admon's ceo_plots.csv has no
    extra plot columns, so no ``pl_`` column.
    """
    lines = ["\ufeff" + SAMPLE_HEADERS + "," + question + ", Guest Interpreters"]
    for i, (plot, email, answer, flagged) in enumerate(rows):
        lon, lat = 97.8485803 + plot * 1e-4, 21.0585094
        lines.append(
            f"{plot},1,{641024844 + i},{lon},{lat},{email},{str(flagged).lower()},"
            f"2024-10-21 17:0{i % 10},111.9 secs,false,false,Planet NICFI Public,,"
            f"POINT({lon} {lat}),,,{answer},"
        )
    return "\n".join(lines).encode("utf-8")


def test_answers_of_two_interpreters_come_back_as_their_labels():
    raw = ceo_sample_export(
        [(1, "ann@example.org", "Opium poppy", False), (1, "ben@example.org", "Forest", False),
         (2, "ann@example.org", "Fallow / bare", False), (3, "ann@example.org", "", False),
         (4, "ann@example.org", "Forest", True)]
    )  # fmt: skip

    answers = read_ceo_answers(raw)

    assert answers.labels.to_dict("records") == [
        {"sample_id": 1, "interpreter": "ann@example.org", "reference_class": "opium_poppy",
         "unsure": False},
        {"sample_id": 1, "interpreter": "ben@example.org", "reference_class": "forest",
         "unsure": False},
        {"sample_id": 2, "interpreter": "ann@example.org", "reference_class": "fallow_bare",
         "unsure": False},
    ]  # fmt: skip
    assert answers.unanswered == [3] and answers.flagged == [4]


def test_an_answer_that_is_not_a_class_names_its_row_and_the_answers_to_use():
    raw = ceo_sample_export([(1, "a@x.org", "Forest", False), (2, "a@x.org", "Rubber", False)])
    with pytest.raises(InvalidInputError, match=r"row 2: Land cover 'Rubber' is not a class"):
        read_ceo_answers(raw)


def test_a_missing_question_lists_the_questions_the_file_has():
    raw = ceo_sample_export([(1, "a@x.org", "Forest", False)], question="LULC 2025")
    with pytest.raises(InvalidInputError, match=r"'Land cover'.*\['LULC 2025'\]"):
        read_ceo_answers(raw)
    assert read_ceo_answers(raw, question="LULC 2025").labels["reference_class"].tolist() == [
        "forest"
    ]


def test_a_plot_data_export_is_refused_with_what_to_download():
    plot_export = "\ufeffplotid,center_lon,center_lat,shape,size_m,sample_points,flagged\n1,97.1,21.1,square,10,1,false"
    with pytest.raises(InvalidInputError, match="no plotid or email column"):
        read_ceo_answers(plot_export.encode())


def test_the_project_files_are_what_ceos_loader_accepts_and_hold_no_map_class(tmp_path):
    points = pd.DataFrame({"sample_id": [1, 2], "lon": [97.1, 97.2], "lat": [21.1, 21.2],
                           "map_class": [1, 4]})  # fmt: skip
    write_ceo_project(tmp_path, points, pixel_size_m=10.0)

    plots = (tmp_path / "ceo_plots.csv").read_text()
    samples = (tmp_path / "ceo_samples.csv").read_text()
    assert plots.splitlines()[0] == "PLOTID,LON,LAT"
    assert samples.splitlines()[0] == "PLOTID,SAMPLEID,LON,LAT"
    # CEO lower-cases headers and wants [a-zA-Z_][a-zA-Z0-9_]*; no quotes, commas as delimiter
    for header in plots.splitlines()[0].split(","):
        assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", header)
    assert '"' not in plots and "map_class" not in plots and len(plots.splitlines()) == 3
    notes = (tmp_path / "ceo_project.txt").read_text()
    assert "plot size 10 m" in notes and "- Opium poppy" in notes and "- Fallow / bare" in notes


def test_an_export_saved_again_in_another_encoding_is_refused_by_file_name(tmp_path):
    # a spreadsheet that re-saves the export as Windows-1252 (an accented e-mail name)
    raw = ceo_sample_export([(1, "josé@example.org", "Forest", False)])
    path = tmp_path / "ceo-project-12-sample-data.csv"
    path.write_bytes(raw.decode("utf-8-sig").encode("cp1252"))
    with pytest.raises(InvalidInputError, match=r"ceo-project-12-sample-data\.csv: not UTF-8"):
        read_ceo_answers(str(path))


def test_a_plot_number_that_is_not_finite_names_its_row():
    raw = ceo_sample_export([(1, "a@x.org", "Forest", False)]).replace(b"\n1,", b"\ninf,")
    with pytest.raises(InvalidInputError, match=r"row 1: plotid 'inf' is not a plot number"):
        read_ceo_answers(raw)
