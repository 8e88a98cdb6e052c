"""Export of the active households (and their residents) under a unit as XLSX, in the
columns the importer reads, so that an export edited in Excel imports back.

A community can hold tens of thousands of residents: rows are streamed from one
LEFT JOIN query with ``.iterator()`` into openpyxl's write-only workbook, which spools
to disk, so memory stays flat whatever the size. Every text is a string cell, never a
formula (governance.kernel.spreadsheets): a contact typed as "=HYPERLINK(…)" comes back
out as that text.
"""

from collections.abc import Iterator
from typing import BinaryIO

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from governance.kernel import choices
from governance.kernel.spreadsheets import set_xlsx_value, xlsx_cell
from governance.staff.selectors import Jurisdiction
from grids import selectors
from grids.enums import CareTag, Gender, HouseholdStatus
from grids.io.columns import BLANK_KEEPS_HELP, COLUMNS
from grids.models import Grid, Household

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "住户"

# One row per resident; a household without residents gives one row of NULL resident fields.
_VALUES = (
    "building__grid_id", "building__code", "building__compound", "building__address",
    "unit", "room", "contact_name", "phone", "care_visible",
    "residents__name", "residents__gender", "residents__birth_year", "residents__phone",
    "residents__relation", "residents__is_party_member",
)


def household_export_rows(jurisdiction: Jurisdiction, *, within: str, system: bool = False) -> QuerySet:
    """The rows to export under ``within``, scoped to the account like every other read;
    the 关怀标签 only where the account sees them (``Jurisdiction.sees_care``), or all of them
    for the operator's system export (``system``: manage.py export_households without --user)."""
    care_q = ~Q(pk=None) if system else jurisdiction.care_code_q("building__code")
    return (
        selectors.scoped(Household, jurisdiction)
        .filter(building__code__startswith=within, status=HouseholdStatus.ACTIVE)
        # 关怀标签 only where the account sees them (Jurisdiction.sees_care: PIPL); else empty.
        .annotate(care_visible=Case(When(care_q, then=F("care_tags")),
                                    default=Value(""), output_field=CharField()))
        .order_by("building__code", "unit", "room", "pk", "residents__id")
        .values_list(*_VALUES)
    )


def _row_formatter():
    """values → cells; the labels are resolved once per export, not once per row."""
    tags = {code: str(label) for code, label in CareTag.choices}
    genders = {code: str(label) for code, label in Gender.choices}

    def cells(values: tuple) -> list:
        (grid, building, compound, address, unit, room, contact, phone, care_tags,
         name, gender, birth_year, resident_phone, relation, is_party_member) = values
        care = "、".join(tags.get(t, t) for t in choices.keys(care_tags))
        if name is None:
            resident = ["", "", "", "", "", ""]
        else:
            resident = [name, genders.get(gender, ""), str(birth_year or ""), resident_phone, relation,
                        "是" if is_party_member else "否"]
        return [grid, building, compound, address, unit, room, contact, phone, care, *resident]

    return cells


def households_write_xlsx(*, rows: Iterator[tuple], out: BinaryIO, grids: list[Grid] = ()) -> int:
    """Write the workbook to ``out``; returns the number of data rows.

    1. the data sheet: a bold header, text columns formatted "@" (also for rows typed in
       later, so Excel keeps a 15-digit code as typed);
    2. one row per resident, streamed;
    3. a sheet of instructions from the column spec, and the grids the file may name.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for index, column in enumerate(COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = column.width + 2
        if column.text:
            dimension.number_format = "@"
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, column.header, font=bold) for column in COLUMNS])

    # One cell per column (text columns formatted "@"), refilled for every row: the
    # write-only sheet serialises a row as it is appended, and a fresh styled cell per
    # value costs more than the rest of the export. Refilled through set_xlsx_value, so
    # that text is a string cell, never a formula.
    column_cells = [xlsx_cell(sheet, number_format="@" if column.text else None) for column in COLUMNS]
    cells = _row_formatter()
    count = 0
    for values in rows:
        line = []
        for cell, value in zip(column_cells, cells(values)):
            if value == "" or value is None:
                line.append(None)
            else:
                set_xlsx_value(cell, value)
                line.append(cell)
        sheet.append(line)
        count += 1

    help_sheet = workbook.create_sheet(_("填写说明"))
    help_sheet.column_dimensions["A"].width = 14
    help_sheet.column_dimensions["C"].width = 80
    help_sheet.append([xlsx_cell(help_sheet, v) for v in (_("列名"), _("必填"), _("说明"))])
    for column in COLUMNS:
        help_sheet.append([column.header, _("是") if column.required else "", str(column.help)])
    help_sheet.append([])
    help_sheet.append([str(BLANK_KEEPS_HELP)])
    help_sheet.append([_("只导入第一个工作表；表头须在第一行。")])
    if grids:
        help_sheet.append([])
        help_sheet.append([_("可填写的网格")])
        for grid in grids:
            help_sheet.append([xlsx_cell(help_sheet, grid.code, number_format="@"), "", xlsx_cell(help_sheet, grid.name)])
    workbook.save(out)
    return count


def household_export_xlsx(*, jurisdiction: Jurisdiction, within: str, out: BinaryIO, template: bool = False,
                          system: bool = False) -> int:
    """The export of a unit (or, with ``template``, the same workbook without data rows)."""
    grids = list(selectors.scoped(Grid, jurisdiction).filter(code__startswith=within).order_by("code")[:500])
    rows = iter(()) if template else household_export_rows(jurisdiction, within=within, system=system).iterator(chunk_size=2000)
    return households_write_xlsx(rows=rows, out=out, grids=grids)
