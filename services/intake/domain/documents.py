"""Proof documents (证明材料): what a transfer or a return to post must carry.

A document is accepted by what its bytes are, never by its name or declared type: the first
bytes must be those of a PDF, a JPEG or a PNG. It is stored content-addressed by its sha256, so
uploading the same file twice stores it once and yields the same reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

MediaType = Literal["application/pdf", "image/jpeg", "image/png"]

_MAGIC: tuple[tuple[bytes, MediaType], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
SNIFF_BYTES = 8


class UnsupportedDocument(ValueError):
    """The bytes are not a PDF, JPEG or PNG."""


@dataclass(frozen=True)
class Document:
    sha256: str
    media_type: MediaType
    size_bytes: int
    filename: str | None = None


def sniff(head: bytes) -> MediaType:
    """The media type the first bytes announce; UnsupportedDocument when none of ours."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    raise UnsupportedDocument(
        "the file's content is not a PDF, JPEG or PNG (checked by content, not by name); "
        "证明材料须为 PDF、JPEG 或 PNG 文件")


def describe(content: bytes, filename: str | None = None) -> Document:
    media_type = sniff(content[:SNIFF_BYTES])
    return Document(sha256=hashlib.sha256(content).hexdigest(), media_type=media_type,
                    size_bytes=len(content), filename=filename)
