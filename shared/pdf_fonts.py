"""Fonts for the PDFs: embedded TrueType fonts that cover the rare characters of names.

reportlab's built-in CID font STSong-Light is not embedded (the reader substitutes its own) and
stops at the common CJK block, so names with Extension A or B characters (䶮 U+4DAE,
𠈌 U+2020C) came out blank or garbled. HanaMin (Debian's fonts-hanazono, TrueType outlines,
which reportlab can embed) covers the BMP with Extension A in HanaMinA and the supplementary
ideographic plane (Extensions B-F) in HanaMinB. Each text is set in HanaMinA, with every run
of characters that only HanaMinB has wrapped in a <font> tag; reportlab embeds the subset of
glyphs a document uses.

The font directory is TMIS_PDF_FONT_DIR or Debian's; where the fonts are missing the PDFs fall
back to STSong-Light and say so in the log once (`make browser-deps` installs fonts-hanazono
with the browser tests' packages; deploy/Dockerfile installs it in the image).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

from shared.logging import get_logger

log = get_logger(__name__)

DEFAULT_DIR = "/usr/share/fonts/truetype/hanazono"
MAIN, EXTRA, FALLBACK = "HanaMinA", "HanaMinB", "STSong-Light"


@dataclass(frozen=True)
class PdfFonts:
    """The registered fonts and what each covers (empty coverage: the CID fallback)."""

    main: str
    extra: str | None
    main_chars: frozenset[int]
    extra_chars: frozenset[int]

    @property
    def embedded(self) -> bool:
        return self.main != FALLBACK

    def font_for(self, char: str) -> str:
        """The font a character is set in: the main one unless only the extra one has it."""
        cp = ord(char)
        if self.extra and cp not in self.main_chars and cp in self.extra_chars:
            return self.extra
        return self.main

    def markup(self, text: str) -> str:
        """`text` as reportlab Paragraph markup: XML-escaped (a name is never markup), with
        the runs only the extra font covers in a <font> tag of their own."""
        out: list[str] = []
        run: list[str] = []
        run_font = self.main
        for ch in text:
            f = self.font_for(ch)
            if f != run_font and run:
                out.append(self._wrap(run_font, "".join(run)))
                run = []
            run_font = f
            run.append(ch)
        if run:
            out.append(self._wrap(run_font, "".join(run)))
        return "".join(out)

    def _wrap(self, font: str, text: str) -> str:
        return escape(text) if font == self.main else f'<font name="{font}">{escape(text)}</font>'


@functools.cache
def pdf_fonts() -> PdfFonts:
    """Registers the fonts with reportlab once per process."""
    folder = Path(os.environ.get("TMIS_PDF_FONT_DIR", DEFAULT_DIR))
    a, b = folder / f"{MAIN}.ttf", folder / f"{EXTRA}.ttf"
    if not a.is_file():
        log.warning("pdf_font_missing", path=str(a), fallback=FALLBACK,
                    hint="apt-get install fonts-hanazono (or set TMIS_PDF_FONT_DIR)")
        if FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
        return PdfFonts(FALLBACK, None, frozenset(), frozenset())
    main = TTFont(MAIN, str(a))
    pdfmetrics.registerFont(main)
    if not b.is_file():
        return PdfFonts(MAIN, None, frozenset(main.face.charToGlyph), frozenset())
    extra = TTFont(EXTRA, str(b))
    pdfmetrics.registerFont(extra)
    return PdfFonts(MAIN, EXTRA, frozenset(main.face.charToGlyph),
                    frozenset(extra.face.charToGlyph))
