"""Export of the active households (and their residents) under a unit as XLSX, in the
columns the importer reads, so that an export edited in Excel imports back.

A community can hold tens of thousands of residents: rows are streamed from one
LEFT JOIN query with ``.iterator()`` — a server-side cursor, inside a transaction (in
autocommit Django declares it WITH HOLD and PostgreSQL materialises the whole result
first) — into a constant-memory workbook, which spools to disk, so memory stays flat
whatever the size. Past EXPORT_XLSX_SHEET_MAX_ROWS rows the next sheet continues the data
(governance.kernel.spreadsheets.XlsxBook); past EXPORT_XLSX_INLINE_MAX_ROWS the page hands
the export to a job (governance.kernel.exports; ``household_export_job``). Every text is a
string cell, never a formula (governance.kernel.spreadsheets): a contact typed as "=HYPERLINK(…)" comes back
out as that text.
"""

from collections.abc import Iterator
from typing import BinaryIO

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from governance.kernel import choices, exports
from governance.kernel.spreadsheets import XlsxBook
from governance.staff.selectors import Jurisdiction, jurisdiction_for
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


def households_write_xlsx(*, rows: Iterator[tuple], out: BinaryIO, grids: list[Grid] = (), progress=None) -> int:
    """Write the workbook to ``out``; returns the number of data rows. Every text is a
    string cell, never a formula (governance.kernel.spreadsheets.XlsxBook).

    1. the data sheet: a bold header, text columns formatted "@" (also for rows typed in
       later, so Excel keeps a 15-digit code as typed); continued on further sheets past
       the per-sheet limit;
    2. one row per resident, streamed (``progress.step()`` after each: the export job's);
    3. a sheet of instructions from the column spec, and the grids the file may name.
    """
    book = XlsxBook(out)
    text_format = ["@" if column.text else None for column in COLUMNS]
    sheet = book.sheet(SHEET_TITLE, title_line=None, header=[c.header for c in COLUMNS],
                       widths=[c.width + 2 for c in COLUMNS], number_formats=text_format)
    cells = _row_formatter()
    count = 0
    for values in rows:
        sheet.append(cells(values))
        count += 1
        if progress is not None:
            progress.step()

    help_sheet = book.sheet(_("填写说明"), title_line=None, header=[_("列名"), _("必填"), _("说明")],
                            widths=[14, 8, 80], number_formats=["@", None, None])
    for column in COLUMNS:
        help_sheet.append([column.header, _("是") if column.required else "", str(column.help)])
    help_sheet.append([])
    help_sheet.append([str(BLANK_KEEPS_HELP)])
    help_sheet.append([_("只导入第一个工作表；表头须在第一行。")])
    if grids:
        help_sheet.append([])
        help_sheet.append([_("可填写的网格")])
        for grid in grids:
            help_sheet.append([grid.code, "", grid.name])
    book.close()
    return count


def household_export_xlsx(*, jurisdiction: Jurisdiction, within: str, out: BinaryIO, template: bool = False,
                          system: bool = False, progress=None) -> int:
    """The export of a unit (or, with ``template``, the same workbook without data rows)."""
    grids = list(selectors.scoped(Grid, jurisdiction).filter(code__startswith=within).order_by("code")[:500])
    if template:
        return households_write_xlsx(rows=iter(()), out=out, grids=grids)
    rows = household_export_rows(jurisdiction, within=within, system=system)
    if progress is not None:
        progress.set_total(rows.count())
    with exports.streaming_transaction():  # the server-side cursor lives in it
        return households_write_xlsx(rows=rows.iterator(chunk_size=2000), out=out, grids=grids, progress=progress)


def household_export_count(*, jurisdiction: Jurisdiction, within: str, limit: int) -> int:
    """The export's rows, counted up to ``limit`` (the page's choice: inline or a job)."""
    return household_export_rows(jurisdiction, within=within).order_by()[:limit].count()


def household_export_job(*, job, out, progress) -> int:
    """The export job's writer (registered in GridsConfig.ready): the requester's
    jurisdiction as it is now; the unit must still lie inside it."""
    jurisdiction = jurisdiction_for(job.user)
    within = job.params["code"]
    if not jurisdiction.covers(within):
        raise PermissionError("the unit is no longer inside the requester's jurisdiction")
    return household_export_xlsx(jurisdiction=jurisdiction, within=within, out=out, progress=progress)
