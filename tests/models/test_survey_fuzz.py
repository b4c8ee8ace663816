"""Whatever bytes arrive, load_plots answers with a report or an InvalidInputError, never a crash."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInputError
from models.survey import load_plots

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answer(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            plots, report = load_plots(path)
        except InvalidInputError as exc:
            assert f"upload{suffix}" in str(exc)
            return
        assert report.accepted == len(plots)
        assert report.accepted + report.rejected == report.total_rows


@pytest.mark.parametrize("name", ["kobo_export.csv", "odk_central_export.csv", "plots_wkt.csv"])
@SETTINGS
@given(data=st.data())
def test_mutated_csv_exports(name: str, data: st.DataObject) -> None:
    original = (EXAMPLES / name).read_bytes()
    start = data.draw(st.integers(0, len(original) - 1))
    length = data.draw(st.integers(0, 40))
    junk = data.draw(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
    answer(original[:start] + junk + original[start + length :], ".csv")


@SETTINGS
@given(data=st.data())
def test_mutated_geojson(data: st.DataObject) -> None:
    original = (EXAMPLES / "kobo_export.geojson").read_bytes()
    start = data.draw(st.integers(0, len(original) - 1))
    junk = data.draw(st.sampled_from([b"", b"null", b"[]", b"{}", b'"x"', b"1e999", b"-"]))
    answer(original[:start] + junk + original[start + data.draw(st.integers(0, 30)) :], ".geojson")


@SETTINGS
@given(content=st.binary(max_size=300))
def test_random_bytes_in_any_format(content: bytes) -> None:
    for suffix in (".csv", ".geojson", ".kml", ".zip", ".gpkg"):
        answer(content, suffix)
