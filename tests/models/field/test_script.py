"""Zawgyi vs Unicode Burmese, NFC, area units: text normalised before matching."""

from __future__ import annotations

import unicodedata

import pytest

from core.errors import InvalidInputError
from models.field.labels import crop_of, normalise_label
from models.field.script import is_zawgyi, normalise_text, zawgyi_probability
from models.field.units import area_unit_in_header, unit_factor_ha

# Zawgyi as published (research/field/crop_names.csv sources) -> the Unicode spelling
ZAWGYI = {
    "ဘိန္း": "ဘိန်း",  # pa-onational.org
    "ဘိန္းခင္း": "ဘိန်းခင်း",  # kantarawaddytimes.org
    "ေဆးေျခာက္": "ဆေးခြောက်",  # the Burmese 'Marijuana' translation
    "ေက်းရြာ": "ကျေးရွာ",  # village
}
# Unicode that the detector scores high on its own (short strings): must stay untouched
UNICODE = ["ဘိန်း", "ရွာ B", "ယာမွူး", "ပၢင်း", "ၾိၼ်", "ယႃႈၽိၼ်ႇ", "ဆေးခြောက်", "စပါး", "ကျေးရွာ"]


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI.items())
def test_zawgyi_is_detected_and_converted(zawgyi: str, unicode: str) -> None:
    assert is_zawgyi(zawgyi)
    assert normalise_text(zawgyi) == unicode


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_burmese_shan_and_pao_are_left_alone(text: str) -> None:
    assert not is_zawgyi(text)
    assert normalise_text(text) == unicodedata.normalize("NFC", text)


def test_the_detector_alone_would_misfire_on_short_unicode() -> None:
    """Why admon needs the rule as well: myanmartools scores these Unicode strings high."""
    assert zawgyi_probability("ရွာ B") > 0.85
    assert zawgyi_probability("ယာမွူး") > 0.85
    assert zawgyi_probability("plot 7") == 0.0


def test_zawgyi_and_decomposed_labels_match_the_crop_table() -> None:
    assert crop_of("ဘိန္း") == "opium_poppy"
    assert crop_of("ေဆးေျခာက္") == "cannabis"
    decomposed = unicodedata.normalize("NFD", "thuốc phiện")
    assert decomposed != "thuốc phiện"
    assert crop_of(decomposed) == "opium_poppy"
    assert normalise_label("Opium_Poppy") == "opium poppy"


ASEAN = {
    "cần sa": "cannabis",  # Vietnamese
    "thuốc phiện": "opium_poppy",
    "anh túc": "opium_poppy",
    "កញ្ឆា": "cannabis",  # Khmer
    "candu": "opium_poppy",  # Bahasa Indonesia / Malay
    "ganja": "cannabis",
    "popi": "opium_poppy",
    "bunga madat": "opium_poppy",
    "opyo": "opium_poppy",  # Filipino
    "marijuana": "cannabis",
    "ပၢင်း": "cannabis",  # Shan (Shan News)
    "ယႃႈၽိၼ်ႇ": "opium_poppy",  # Shan (Shan Wikipedia)
    "kani": "opium_poppy",  # Kachin (Jinghpaw)
    "ya pi": "opium_poppy",  # Akha
    "ฝิ่น": "opium_poppy",  # Thai
    "ກັນຊາ": "cannabis",  # Lao
    "ယာမွူး": "opium_poppy",  # Pa'O
}


@pytest.mark.parametrize(("label", "crop"), ASEAN.items())
def test_asean_languages(label: str, crop: str) -> None:
    assert crop_of(label) == crop


@pytest.mark.parametrize("label", ["អាភៀន", "กัญชง", "ມ້າງ"])
def test_spellings_not_found_in_any_source_are_not_guessed(label: str) -> None:
    """Khmer opium, Thai hemp and the Lao-script Hmong 'hemp' are not in the table: rejected,
    so a team adds its own spelling rather than admon guessing."""
    assert crop_of(label) is None


@pytest.mark.parametrize(
    ("header", "unit", "factor"),
    [
        ("Area (rai)", "rai", 0.16),
        ("village/plot/area_m2", "m2", 1e-4),
        ("plot_area_acres", "acre", 0.40468564224),
        ("Plot area [m²]", "m2", 1e-4),
        ("field_size_mu", "mu", 1 / 15),
        ("area_ngan", "ngan", 0.04),
        ("area_sq_wa", "square_wa", 0.0004),
    ],
)
def test_area_units_in_headers(header: str, unit: str, factor: float) -> None:
    assert area_unit_in_header(header) == unit
    assert unit_factor_ha(unit) == pytest.approx(factor)


def test_headers_without_an_area_word_or_unit_name_none() -> None:
    assert area_unit_in_header("area") is None
    assert area_unit_in_header("rai_count") is None
    with pytest.raises(InvalidInputError, match="'bigha' is not known; use one of ha, m2"):
        unit_factor_ha("bigha")
