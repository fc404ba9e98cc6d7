"""Every page in every language: no string file misses a key of the English one, and pages answer in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geoapp.i18n import LANGUAGES
from tests.helpers import ROOT


def _strings(family: str, lang: str) -> dict:
    return json.loads(Path(str(FAMILIES[family]).format(lang=lang)).read_text(encoding="utf-8"))


FAMILIES = {
    "pages": ROOT / "geoapp" / "i18n" / "{lang}.json",
    "report pages": ROOT / "geoapp" / "i18n" / "report_{lang}.json",
    "map": ROOT / "layers" / "publish" / "assets" / "i18n" / "{lang}.json",
}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_language_has_every_key(family, lang):
    """A missing key would silently fall back to English: each language file has every English key, non-empty."""
    english, other = _strings(family, "en"), _strings(family, lang)
    assert sorted(set(english) - set(other)) == []
    assert [k for k, v in other.items() if not str(v).strip()] == []


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "Report what you see"), ("fr", None), ("sw", None), ("id", "Laporkan yang Anda lihat")],
)
def test_report_page_answers_in_the_language_asked(client, lang, title):
    """/report?lang=xx shows the page's own strings in that language (Indonesian was falling back to English)."""
    expected = title or _strings("report pages", lang)["report_title"]
    html = client.get(f"/report?lang={lang}").get_data(as_text=True)
    assert expected in html
    assert f'lang="{lang}"' in html
