"""The type of an upload, told from its bytes as they stream in, against an allow-list. The name and the
client's Content-Type are never trusted: a renamed program, web page or SVG is refused.

Binary formats by their magic numbers; the office formats are ZIP containers, so their inner structure decides
(the central directory at the end of the stream for OOXML, the leading `mimetype` entry for ODF); anything else
must be UTF-8 text from the first byte to the last, and not markup a browser would render.
"""

from __future__ import annotations

import codecs

from edutrack import errors
from edutrack.i18n import _

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
TEXT = "text/plain; charset=utf-8"
IMAGES = frozenset({JPEG, PNG, GIF, WEBP})
ALLOWED = frozenset({*IMAGES, PDF, DOCX, XLSX, PPTX, ODT, TEXT})

HEAD = 4096  # what the magic numbers and the markup check look at
TAIL = 1024 * 1024  # what is kept of a ZIP's end for its central directory
_OOXML = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
_MARKUP = (b"<html", b"<svg", b"<script", b"<!doctype", b"<?xml", b"<body", b"<iframe")
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def refused() -> errors.ApiError:
    return errors.UnsupportedMediaType(
        _("This type of file is not allowed. Allowed: images (JPEG, PNG, WebP, GIF), PDF, Word, Excel, PowerPoint, "
          "OpenDocument text and plain text in UTF-8; the type is told by the content, not by the name."),
        code="file_type_not_allowed")


def _magic(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _le(data: bytes | bytearray, start: int, size: int) -> int:
    return int.from_bytes(data[start:start + size], "little")


def zip_names(tail: bytes | bytearray) -> list[str] | None:
    """The entry names of the central directory at the end of a ZIP, or None when it is not there whole."""
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        return None
    count, size = _le(tail, end + 10, 2), _le(tail, end + 12, 4)
    pos = end - size
    if pos < 0:
        return None
    names = []
    for _i in range(count):
        if tail[pos:pos + 4] != b"PK\x01\x02":
            return None
        length = _le(tail, pos + 28, 2)
        names.append(bytes(tail[pos + 46:pos + 46 + length]).decode("utf-8", "replace"))
        pos += 46 + length + _le(tail, pos + 30, 2) + _le(tail, pos + 32, 2)
    return names


def _container(head: bytes, tail: bytes | bytearray) -> str | None:
    # ODF: the first entry is `mimetype`, stored uncompressed, holding the document's type (ODF 1.2, 3.3).
    if head[30:38] == b"mimetype":
        size = _le(head, 18, 4)
        return ODT if head[38:38 + size] == ODT.encode() else None
    names = zip_names(tail)
    if names is None or "[Content_Types].xml" not in names:
        return None
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return None  # macros
    found = {_OOXML[n] for n in names if n in _OOXML}
    return found.pop() if len(found) == 1 else None


class Sniffer:
    """Feed it every chunk in order, then `finish()`: the content type, or a 415 (as early as the bytes allow)."""

    def __init__(self) -> None:
        self.head = b""
        self.kind: str | None = None
        self._pending = b""  # the first bytes, until there are enough for the magic numbers
        self._tail = bytearray()
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._markup_checked = False

    def feed(self, chunk: bytes) -> None:
        if self.kind is None:
            self._pending += chunk
            if len(self._pending) < 16:
                return
            chunk, self._pending = self._pending, b""
            self.kind = _magic(chunk) or TEXT
        if len(self.head) < HEAD:
            self.head += chunk[:HEAD - len(self.head)]
        if self.kind == "zip":
            self._tail += chunk
            if len(self._tail) > TAIL:
                del self._tail[:len(self._tail) - TAIL]
        elif self.kind == TEXT:
            if len(self.head) >= HEAD:
                self._check_markup()
            self._check_text(chunk)

    def _check_markup(self) -> None:
        if self._markup_checked:
            return
        self._markup_checked = True
        opening = self.head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if opening.startswith(b"<") or any(tag in opening for tag in _MARKUP):
            raise refused()

    def _check_text(self, chunk: bytes) -> None:
        if chunk.translate(None, _CONTROL) != chunk:
            raise refused()  # NUL and other control characters: a binary file
        try:
            self._text.decode(chunk)
        except UnicodeDecodeError:
            raise refused() from None

    def finish(self) -> str:
        if self.kind is None:
            if not self._pending:
                raise refused()
            pending, self._pending = self._pending, b""
            self.kind = _magic(pending) or TEXT
            self.feed(pending)
        if self.kind == TEXT:
            self._check_markup()
            try:
                self._text.decode(b"", final=True)
            except UnicodeDecodeError:
                raise refused() from None
            return TEXT
        if self.kind == "zip":
            found = _container(self.head, self._tail)
            if found is None:
                raise refused()
            return found
        return self.kind
