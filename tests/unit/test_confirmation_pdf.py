"""The confirmation table's PDF prints rare characters in names as glyphs: the fonts are
embedded TrueType fonts, every character of 王𠈌䶮 is set in a font whose character map has it,
and the text comes back out of the PDF. A name is text, never reportlab markup."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest

from services.reporting.adapters.confirmation_docs import confirmation_pdf
from shared.pdf_fonts import EXTRA, MAIN, PdfFonts, pdf_fonts

RARE_NAME = "王𠈌䶮"  # 䶮 U+4DAE (Extension A), 𠈌 U+2020C (Extension B)
SCHOOL = {"name": "兰州市城关区测试小学", "school_code": "T0000000001"}


def a_teacher(name: str) -> dict[str, object]:
    return {"record": {"name": name, "id_number_masked": "**************123X",
                       "gender": "female", "birth_date": "1990-05-01", "ethnicity": "汉族"}}


@pytest.fixture(scope="module")
def fonts() -> PdfFonts:
    fonts = pdf_fonts()
    if not fonts.embedded:
        pytest.fail("the PDF fonts are missing: make browser-deps installs fonts-hanazono")
    return fonts


def test_each_character_of_a_rare_name_is_set_in_a_font_that_has_its_glyph(fonts: PdfFonts) -> None:
    for ch in RARE_NAME:
        chars = fonts.main_chars if fonts.font_for(ch) == MAIN else fonts.extra_chars
        assert ord(ch) in chars, f"{ch} U+{ord(ch):04X} has no glyph in {fonts.font_for(ch)}"


def test_a_character_only_the_extension_font_has_is_wrapped_in_that_font(fonts: PdfFonts) -> None:
    only_extra = next(chr(cp) for cp in sorted(fonts.extra_chars)
                      if cp > 0xFFFF and cp not in fonts.main_chars)
    assert fonts.markup(f"李{only_extra}") == f'李<font name="{EXTRA}">{only_extra}</font>'


def test_a_name_that_looks_like_markup_is_printed_as_written(fonts: PdfFonts) -> None:
    assert fonts.markup("<b>张&三</b>") == "&lt;b&gt;张&amp;三&lt;/b&gt;"


def test_the_pdf_embeds_its_fonts_and_gives_the_rare_name_back_as_text(fonts: PdfFonts) -> None:
    pdf = pypdf.PdfReader(io.BytesIO(confirmation_pdf(
        SCHOOL, [a_teacher(RARE_NAME), a_teacher("<b>张&三</b>")], date(2026, 12, 4))))
    embedded = set()
    for page in pdf.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if font["/Subtype"] == "/TrueType":
                assert "/FontFile2" in font["/FontDescriptor"].get_object()
                embedded.add(str(font["/BaseFont"]).split("+")[-1])
    assert MAIN in embedded
    first, second = (page.extract_text() for page in pdf.pages)
    # reportlab writes the ToUnicode entry of a character beyond U+FFFF as odd-length hex, so
    # pypdf cannot map 𠈌 back to text (the glyph itself is drawn from the embedded font, as
    # the character-map test above shows); the BMP characters around it come back.
    assert "王" in first and "䶮" in first
    assert "<b>张&三</b>" in second
