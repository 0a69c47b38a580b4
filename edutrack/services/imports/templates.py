"""Blank templates of the import: one workbook with a sheet per kind and a sheet of instructions, or one CSV
file per kind (UTF-8 with a byte-order mark and `;` between cells, as Excel in Russia opens and saves it)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from edutrack.i18n import _, gettext
from edutrack.services.imports.formats import KINDS, Kind

BOLD = Font(bold=True)


def xlsx_template() -> bytes:
    book = Workbook(write_only=True)
    notes = book.create_sheet(_("Instructions"))
    notes.append([_("How to fill in this workbook")])
    for line in (_("Fill in the sheets you need and leave the others empty; what each column takes is below."),
                 _("The first row of each sheet holds the column names: do not change them."),
                 _("Upload the workbook as a dry run first: it lists every problem by sheet, row and column."),
                 _("Uploading the same file again changes nothing; a changed file updates what changed.")):
        notes.append([line])
    notes.append([])
    for kind in KINDS:
        notes.append([_(kind.title), _(kind.description)])
        for column in kind.columns:
            required = _("required") if column.required else _("optional")
            notes.append(["", _(column.header), required, gettext(column.example) if column.example else ""])
    for kind in KINDS:
        sheet = book.create_sheet(_(kind.title))
        header = []
        for column in kind.columns:
            cell = WriteOnlyCell(sheet, value=_(column.header))
            cell.font = BOLD
            header.append(cell)
        sheet.append(header)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_template(kind: Kind) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow([_(c.header) for c in kind.columns])
    return out.getvalue().encode("utf-8-sig")
