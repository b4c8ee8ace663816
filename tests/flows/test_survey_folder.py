"""``admon init``'s survey.toml is valid TOML for any survey name a person types."""

from __future__ import annotations

import tomllib

import pytest

from flows.survey_folder import init_survey_folder

NAMES = [
    'Kunar "spring" round',
    "C:\\surveys\\2025",
    "Two\nlines",
    "Tab\there",
    "Ünïcode ☂",
    "del\x7f",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_survey_name_reads_back_from_survey_toml_as_typed(tmp_path, name):
    init_survey_folder(tmp_path, name=name, years=[2025])
    config = tomllib.loads((tmp_path / "survey.toml").read_text(encoding="utf-8"))
    assert config["survey"]["name"] == name
    assert config["survey"]["years"] == [2025]
