"""A CSV or XLSX file → its header and data rows, every cell as text.

Offices send CSV in GBK as often as in UTF-8, and Excel turns codes into numbers; both
are undone here so that the importer only ever sees strings.

An XLSX is a zip of XML, and a hostile one costs far more to read than its size says
(a billion laughs, an external entity, millions of shared strings in a few MB). So: the
XML is parsed by defusedxml (openpyxl uses it when installed: entities are refused), and
before openpyxl reads anything the zip's parts are checked against the settings — what
they unpack to, the shared strings they hold, the cells the sheets declare — and the
cells read are counted as the rows come.
"""

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from governance.kernel.errors import ApplicationError
from grids.io.columns import BY_HEADER, HEADERS

HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in office sheets


class FileRejected(ApplicationError):
    """The file as a whole cannot be read (format, encoding, size, header)."""


@dataclass
class Table:
    columns: dict[str, int]  # column key → index in a row
    ignored_headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells), blank rows left out


def cell_text(value) -> str:
    """A cell as the text the user typed: 110101001001001.0 → "110101001001001"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def normalize_header(value: str) -> str:
    text = re.sub(r"\s+", "", value)
    text = re.sub(r"[（(]必填[)）]$", "", text)
    return text.rstrip("*＊")


def read_table(*, filename: str, data: bytes) -> Table:
    """Read a CSV/XLSX upload; FileRejected with a message saying what to do otherwise."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise FileRejected(_("文件过大：最多 %(size)s，请拆分后分批导入。")
                           % {"size": filesizeformat(settings.IMPORT_MAX_BYTES)})
    if not data.strip():
        raise FileRejected(_("文件是空的。"))
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        raw_rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")):
        raw_rows = _csv_rows(data)
    elif name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(_("不支持旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 或 CSV 后再导入。"))
    else:
        raise FileRejected(_("只能导入 CSV 或 XLSX 文件。"))
    try:
        return _table(raw_rows)
    finally:
        getattr(raw_rows, "close", lambda: None)()  # the XLSX generator holds the workbook open


def _too_many_cells() -> FileRejected:
    return FileRejected(_("文件的单元格超过 %(max)s 个：请只保留需要导入的列和行，或拆分后分批导入。")
                        % {"max": settings.IMPORT_MAX_CELLS})


def _table(raw_rows) -> Table:
    max_rows = settings.IMPORT_MAX_ROWS
    max_cells = settings.IMPORT_MAX_CELLS
    cell_count = 0
    columns: dict[str, int] | None = None
    ignored: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(raw_rows, start=1):
        cell_count += len(raw)
        if cell_count > max_cells:
            raise _too_many_cells()
        cells = [cell_text(v) for v in raw]
        if columns is None:
            headers = [normalize_header(c) for c in cells]
            if any(h in BY_HEADER for h in headers):
                columns, ignored = _columns(headers, number)
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not any(cells):
            continue
        if len(rows) >= max_rows:
            raise FileRejected(_("文件超过 %(max)s 行数据：请拆分后分批导入。") % {"max": max_rows})
        rows.append((number, cells))
    if columns is None:
        raise FileRejected(_("没有找到表头：第一行应是列名（%(headers)s）。请下载模板对照填写。")
                           % {"headers": "、".join(HEADERS)})
    return Table(columns=columns, ignored_headers=ignored, rows=rows)


def _columns(headers: list[str], number: int) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored = []
    for index, header in enumerate(headers):
        column = BY_HEADER.get(header)
        if column is None:
            if header:
                ignored.append(header)
            continue
        if column.key in columns:
            raise FileRejected(_("第 %(row)s 行表头中「%(h)s」出现了两次。") % {"row": number, "h": header})
        columns[column.key] = index
    missing = [c.header for c in BY_HEADER.values() if c.required and c.key not in columns]
    if missing:
        raise FileRejected(_("缺少必填列：%(cols)s。请下载模板对照填写。") % {"cols": "、".join(f"「{m}」" for m in missing)})
    return columns, ignored


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")  # Excel's "Unicode text"
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK and GB2312
    except UnicodeDecodeError:
        raise FileRejected(_("无法识别文件的编码：请把 CSV 另存为 UTF-8 或 GBK 编码。")) from None


def _csv_rows(data: bytes):
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        # Materialised here so that a malformed file fails before anything else happens.
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejected(_("CSV 文件格式有误：%(e)s") % {"e": exc}) from None


# What a damaged or hostile XLSX raises while openpyxl reads it: defusedxml's refusals
# (an entity, a DTD) are ValueErrors, expat's are ParseErrors.
_UNREADABLE = (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError, EOFError, TypeError)


def _unreadable() -> FileRejected:
    return FileRejected(_("无法读取这个 XLSX 文件：它可能已损坏，或并不是 Excel 文件。"))


_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>/]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"(?:[A-Z]+\d+:)?([A-Z]+)(\d+)\"")
_CHUNK = 1024 * 1024


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _shared_strings(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int) -> int:
    """The shared strings in the part, counted in its raw bytes (nothing parsed), up to
    past ``limit``."""
    count, tail = 0, b""
    with archive.open(info) as part:
        while count <= limit:
            chunk = part.read(_CHUNK)
            if not chunk:
                break
            # A tag cut by the chunk's end is found with the previous chunk's tail; the
            # tags wholly inside that tail were counted already.
            count += len(_SHARED_STRING.findall(tail + chunk)) - len(_SHARED_STRING.findall(tail))
            tail = (tail + chunk)[-64:]
    return count


def _declared_cells(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The cells a sheet's <dimension> declares (rows × columns up to its last cell):
    openpyxl's read-only mode pads every row to that width."""
    with archive.open(info) as part:
        head = part.read(4096)
    found = _DIMENSION.search(head)
    if found is None:
        return 0
    return _column_number(found.group(1)) * int(found.group(2))


def _check_xlsx(data: bytes) -> None:
    """Before openpyxl reads the file: what its parts unpack to (zipfile reads no more
    than a part's declared size), its shared strings and the cells its sheets declare."""
    max_cells = settings.IMPORT_MAX_CELLS
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if sum(i.file_size for i in infos) > settings.IMPORT_MAX_UNPACKED_BYTES:
                raise FileRejected(_("XLSX 文件解压后超过 %(size)s：请只保留需要导入的数据，或拆分后分批导入。")
                                   % {"size": filesizeformat(settings.IMPORT_MAX_UNPACKED_BYTES)})
            for info in infos:
                name = info.filename.lower()
                if name.endswith("sharedstrings.xml"):
                    if _shared_strings(archive, info, limit=max_cells) > max_cells:
                        raise FileRejected(_("文件中的文本（共享字符串）超过 %(max)s 条：请只保留需要导入的数据，或拆分后分批导入。")
                                           % {"max": max_cells})
                elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    if _declared_cells(archive, info) > max_cells:
                        raise _too_many_cells()
    except _UNREADABLE:
        raise _unreadable() from None


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, *_UNREADABLE):
        raise _unreadable() from None
    try:
        # Only the first sheet: the template's second sheet is the instructions.
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except _UNREADABLE:  # the sheet's XML is parsed as the rows are read
                raise _unreadable() from None
            yield row
    finally:
        workbook.close()
