"""Reading an uploaded file: what it is (by its bytes, never by its name or declared type) and its rows.

An XLSX is a zip holding `[Content_Types].xml` and `xl/workbook.xml`, whose members do not unpack to more than
`MAX_UNPACKED` (a zip bomb is refused before openpyxl opens it). A CSV is UTF-8 text (a byte-order mark, as
Excel's "CSV UTF-8" writes, is dropped) with `;` or `,` between cells, whichever the header line uses.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from edutrack import errors
from edutrack.i18n import _
from edutrack.services.imports.formats import Kind, kind_by_headers, kind_by_title, match_headers

MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed of one member; spreadsheets stay far below it
MAX_ROWS = 20_000  # data rows per sheet
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls


Cell = str | int | float | date | datetime | time | None


@dataclass
class Sheet:
    """One kind's rows as read: `rows` holds (row number in the file, cells by column key)."""

    kind: Kind
    name: str  # as the file names it (the CSV kind's title for a CSV)
    headers: list[str]
    positions: dict[str, int]
    rows: list[tuple[int, dict[str, Cell]]] = field(default_factory=list)
    too_many_rows: bool = False

    def header_of(self, key: str) -> str:
        position = self.positions.get(key)
        if position is not None:
            return self.headers[position]
        return _(next(c.header for c in self.kind.columns if c.key == key))

    def cell_ref(self, key: str, row: int) -> str | None:
        position = self.positions.get(key)
        return None if position is None else f"{get_column_letter(position + 1)}{row}"


@dataclass
class Upload:
    format: str  # "xlsx" or "csv"
    sheets: list[Sheet]
    ignored_sheets: list[str]


def _unsupported(message: str) -> errors.ApiError:
    return errors.UnsupportedMediaType(message, code="unsupported_file")


def sniff(head: bytes) -> str:
    """`xlsx` or `csv` from the first bytes of the file, or a 415 saying what to send instead."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        raise _unsupported(_("This is an old Excel file (.xls): save it as an Excel workbook (.xlsx) or as "
                             "CSV UTF-8."))
    if b"\x00" in head:
        raise _unsupported(_("This is neither an Excel workbook (.xlsx) nor a CSV text file."))
    return "csv"


def _check_zip(file: IO[bytes]) -> None:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise _unsupported(_("The file is not a readable Excel workbook (.xlsx).")) from exc
    with archive:
        members = archive.infolist()
        names = {m.filename for m in members}
        if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
            raise _unsupported(_("The file is a zip archive but not an Excel workbook (.xlsx)."))
        total = sum(m.file_size for m in members)
        if total > MAX_UNPACKED or any(m.file_size > MAX_RATIO * max(m.compress_size, 1) for m in members):
            raise _unsupported(_("The workbook unpacks to far more than a school's lists need; it was refused."))
    file.seek(0)


def _header_texts(values: tuple[Any, ...] | list[Any]) -> list[str]:
    return ["" if v is None else str(v).strip() for v in values]


def _add_rows(sheet: Sheet, numbered: Any) -> None:
    for number, values in numbered:
        cells: dict[str, Cell] = {}
        for key, position in sheet.positions.items():
            value = values[position] if position < len(values) else None
            if isinstance(value, str):
                value = value.strip() or None
            cells[key] = value
        if all(v is None for v in cells.values()):
            continue  # blank lines between blocks are common and mean nothing
        if len(sheet.rows) >= MAX_ROWS:
            sheet.too_many_rows = True
            return
        sheet.rows.append((number, cells))


def read_xlsx(file: IO[bytes]) -> Upload:
    _check_zip(file)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook: each means the same here
        raise _unsupported(_("The workbook could not be read: %(reason)s", reason=str(exc)[:200])) from exc
    sheets, ignored = [], []
    try:
        for ws in workbook.worksheets:
            rows = ws.iter_rows(values_only=True)
            first = next(rows, None)
            headers = _header_texts(first or ())
            kind = kind_by_title(ws.title) or kind_by_headers(headers)
            if kind is None:
                ignored.append(ws.title)
                continue
            sheet = Sheet(kind, ws.title, headers, match_headers(kind, headers))
            _add_rows(sheet, enumerate(rows, start=2))
            sheets.append(sheet)
    finally:
        workbook.close()
    return Upload("xlsx", sheets, ignored)


def read_csv(data: bytes, kind: Kind | None) -> Upload:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _unsupported(_("The CSV file is not in UTF-8. In Excel, save it as \u201cCSV UTF-8\u201d.")) from exc
    if "\x00" in text:
        raise _unsupported(_("This is neither an Excel workbook (.xlsx) nor a CSV text file."))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = _header_texts(next(reader, []))
    found = kind or kind_by_headers(headers)
    if found is None:
        raise errors.ValidationFailed(
            _("The columns of this CSV file match none of the templates"), code="unknown_file_kind",
            details={"headers": headers[:50]})
    sheet = Sheet(found, _(found.title), headers, match_headers(found, headers))
    _add_rows(sheet, enumerate(reader, start=2))  # numbered as Excel shows the rows
    return Upload("csv", [sheet], [])
