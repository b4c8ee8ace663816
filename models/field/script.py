"""Text as phones write it: Unicode normalisation and Burmese in the Zawgyi encoding.

Zawgyi is a font encoding still common on phones in Myanmar: it reuses the
Myanmar Unicode block with other meanings and another character order
(``ဘိန္း`` in Zawgyi is ``ဘိန်း`` in Unicode), so a Zawgyi label matches
nothing until converted. Two pieces, both from well-kept packages:

- **detection**: Google's ``myanmartools`` ``ZawgyiDetector`` (Apache-2.0, its
  model ships inside the wheel). It gives a probability and misfires on short
  Unicode strings (``ရွာ B`` 0.90, Pa'O ``ယာမွူး`` 0.88), so admon converts only
  when the probability is high **and** the text holds a sequence that is not
  valid Unicode Burmese but is how Zawgyi writes it (see :data:`ZAWGYI_ONLY`), or
  when a longer text (8 or more Myanmar characters) is near-certain Zawgyi;
- **conversion**: ``paraencoder`` (MIT, pure Python), whose ordered
  regular-expression rules follow the Rabbit converter's Zawgyi-to-Unicode table.
  It is called with ``force=True`` because the decision above is admon's.

Everything else only gets Unicode NFC normalisation (composed characters, as
Vietnamese ``thuốc phiện`` may arrive decomposed).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata

__all__ = ["ZAWGYI_ONLY", "zawgyi_probability", "is_zawgyi", "normalise_text"]

_MYANMAR = re.compile(r"[\u1000-\u109f]")
ZAWGYI_ONLY = re.compile(
    r"(?:^|[\s\u102b-\u1030\u1032-\u103a\u104a-\u104f]|[^\u1000-\u109f])\u1031"  # ေ written first
    r"|\u1039(?![\u1000-\u1021])"  # ္ used as the visible asat (Unicode stacks a consonant)
    r"|\u1031\u103b"  # ေ then ျ (medial ra in Zawgyi), both before their consonant
)
"""Sequences Zawgyi writes that Unicode Burmese never holds (not used by Shan or Pa'O text
either, which write Unicode order)."""

_SURE = 0.9
_NEAR_CERTAIN = 0.9999
_LONG = 8


@functools.lru_cache(maxsize=1)
def _detector():
    from myanmartools import ZawgyiDetector

    return ZawgyiDetector()


def zawgyi_probability(text: str) -> float:
    """Return ``myanmartools``' probability that ``text`` is Zawgyi (0 without Myanmar text)."""
    if not _MYANMAR.search(text):
        return 0.0
    probability = _detector().get_zawgyi_probability(text)
    return 0.0 if math.isinf(probability) else float(probability)


def is_zawgyi(text: str) -> bool:
    """True when ``text`` is Burmese written in the Zawgyi encoding (see the module notes).

    Examples
    --------
    >>> is_zawgyi("ဘိန္း"), is_zawgyi("ဘိန်း"), is_zawgyi("ရွာ B")
    (True, False, False)
    """
    probability = zawgyi_probability(text)
    if probability >= _SURE and ZAWGYI_ONLY.search(text):
        return True
    return probability >= _NEAR_CERTAIN and len(_MYANMAR.findall(text)) >= _LONG


@functools.lru_cache(maxsize=8192)
def normalise_text(text: str) -> str:
    """Return ``text`` in Unicode NFC, converted from Zawgyi when it is Zawgyi.

    Examples
    --------
    >>> normalise_text("ေဆးေျခာက္") == "ဆေးခြောက်"
    True
    """
    if _MYANMAR.search(text) and is_zawgyi(text):
        from para.convert import zg_to_unicode

        text = zg_to_unicode(text, force=True)
    return unicodedata.normalize("NFC", text)
