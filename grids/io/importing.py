"""Bulk import of households and residents (DESIGN.md §2): validate every row, report
errors by spreadsheet row and column, import nothing from a file with errors, and
otherwise upsert everything in one transaction.

Keys: a building by its code; a household by (building, unit, room); a resident by
(household, name). Writes are bulk, so a 50,000-row file is a few dozen queries, not
hundreds of thousands.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.enums import AccessAction
from governance.kernel import choices
from governance.kernel.access import access_log_record
from governance.kernel.bulk import chunked
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict
from governance.staff.selectors import Jurisdiction, ensure_can_edit_households
from grids.enums import Gender, HouseholdChangeAction, HouseholdStatus
from grids.io.columns import (
    BY_KEY,
    COLUMNS,
    FALSE_WORDS,
    HOUSEHOLD_KEYS,
    RESIDENT_FIELD,
    RESIDENT_KEYS,
    TRUE_WORDS,
)
from grids.io.reader import FileRejected, Table, read_table
from grids.models import LEVEL_BY_LENGTH, Building, Grid, Household, HouseholdChange, Resident
from grids.validators import normalize_care_tags, normalize_phone

CHUNK = 500  # ids per IN (...) query: far below SQLite's variable limit
COLUMN_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}

Progress = Callable[..., Iterable]  # like tqdm: progress(iterable, desc=..., total=...)


def _no_progress(iterable, **_kwargs):
    return iterable


@dataclass(frozen=True)
class RowError:
    row: int | None  # spreadsheet row number (header = 1); None for the file as a whole
    column: str  # header, or "" for the row as a whole
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column:
            return _("第 %(row)s 行「%(column)s」：%(message)s") % {
                "row": self.row, "column": self.column, "message": self.message}
        return _("第 %(row)s 行：%(message)s") % {"row": self.row, "message": self.message}


class ImportRejected(ApplicationError):
    """The file has errors; nothing was imported. ``errors`` lists every one of them."""

    def __init__(self, errors: list[RowError]):
        super().__init__(_("文件未导入：发现 %(n)s 处错误，请改正后重新上传整个文件。") % {"n": len(errors)})
        self.errors = errors


@dataclass
class ImportResult:
    rows: int = 0
    buildings_created: int = 0
    households_created: int = 0
    households_updated: int = 0
    residents_created: int = 0
    residents_updated: int = 0
    rows_unchanged: int = 0
    ignored_headers: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        text = _(
            "共 %(rows)s 行：新建楼栋 %(b)s 栋，新增住户 %(hc)s 户、更新 %(hu)s 户，"
            "新增居民 %(rc)s 人、更新 %(ru)s 人，%(same)s 行无变化。"
        ) % {"rows": self.rows, "b": self.buildings_created, "hc": self.households_created,
             "hu": self.households_updated, "rc": self.residents_created, "ru": self.residents_updated,
             "same": self.rows_unchanged}
        if self.ignored_headers:
            text += _("已忽略无法识别的列：%(cols)s。") % {"cols": "、".join(self.ignored_headers)}
        if self.dry_run:
            text = _("仅校验，未写入：") + text
        return text


@dataclass
class _Row:
    number: int
    values: dict  # column key → parsed value, only for cells that were filled in

    def get(self, key: str, default=""):
        return self.values.get(key, default)

    @property
    def household_key(self) -> tuple[str, str, str]:
        return (self.values["building_code"], self.get("unit"), self.values["room"])


class _Errors:
    def __init__(self):
        self.items: list[RowError] = []
        self.rows: set[int] = set()

    def add(self, row: int | None, key: str, message: str) -> None:
        header = BY_KEY[key].header if key else ""
        self.items.append(RowError(row, header, str(message)))
        if row is not None:
            self.rows.add(row)

    def sorted(self) -> list[RowError]:
        order = {c.header: i for i, c in enumerate(COLUMNS)}
        return sorted(self.items, key=lambda e: (e.row or 0, order.get(e.column, -1)))


# ---- cells ---------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")


def _code(length: int):
    def parse(text: str) -> str:
        text = text.lstrip("'")
        if text.startswith('="') and text.endswith('"'):
            text = text[2:-1]
        if _SCIENTIFIC.match(text):
            raise ValidationError(_("“%(v)s”是被 Excel 转成科学计数法的数字，后几位已经丢失：请把该列设为“文本”格式后重新填写编码。")
                                  % {"v": text})
        if not re.fullmatch(rf"\d{{{length}}}", text):
            raise ValidationError(_("编码“%(v)s”无效：须为 %(n)s 位数字。") % {"v": text, "n": length})
        return text
    return parse


def _unit(text: str) -> str:
    # The pages print "{unit}单元"; "1单元" in a file is the same unit as "1".
    return text[:-2] if text.endswith("单元") and len(text) > 2 else text


def _gender(text: str) -> str:
    value = {"男": Gender.MALE, "女": Gender.FEMALE, "M": Gender.MALE, "F": Gender.FEMALE}.get(text.upper())
    if value is None:
        raise ValidationError(_("性别“%(v)s”无效：请填写“男”或“女”。") % {"v": text})
    return str(value)


def _birth_year(text: str) -> int:
    this_year = timezone.localdate().year
    digits = text.removesuffix("年")
    if not re.fullmatch(r"\d{4}", digits) or not 1900 <= int(digits) <= this_year:
        raise ValidationError(_("出生年份“%(v)s”无效：请填写 1900 至 %(y)s 之间的四位年份。") % {"v": text, "y": this_year})
    return int(digits)


def _yes_no(text: str) -> bool:
    if text.upper() in TRUE_WORDS:
        return True
    if text.upper() in FALSE_WORDS:
        return False
    raise ValidationError(_("“%(v)s”无效：请填写“是”或“否”。") % {"v": text})


PARSERS: dict[str, Callable[[str], object]] = {
    "grid_code": _code(15),
    "building_code": _code(19),
    "unit": _unit,
    "phone": normalize_phone,
    "resident_phone": normalize_phone,
    "care_tags": normalize_care_tags,
    "gender": _gender,
    "birth_year": _birth_year,
    "is_party_member": _yes_no,
}


def _parse_cell(key: str, text: str, memo: dict):
    """The parsed value, or a ValidationError; memoised because a file repeats the same
    grid, building, tags and so on over thousands of rows."""
    try:
        return memo[key, text]
    except KeyError:
        pass
    try:
        result = PARSERS.get(key, str)(text)
    except ValidationError as exc:
        result = exc
    memo[key, text] = result
    return result


def _parse_row(number: int, cells: list[str], table: Table, errors: _Errors, memo: dict) -> _Row:
    values = {}
    failed = set()
    for key, index in table.columns.items():
        text = cells[index].strip() if index < len(cells) else ""
        if not text:
            continue  # blank = not given: it never clears stored data
        column = BY_KEY[key]
        if "\x00" in text:
            # No database stores it (PostgreSQL refuses it in text), and no one typed it.
            errors.add(number, key, _("含有空字符（NUL）：请在原文件中删除该字符后重新导入。"))
            failed.add(key)
            continue
        value = _parse_cell(key, text, memo)
        if isinstance(value, ValidationError):
            errors.add(number, key, " ".join(value.messages))
            failed.add(key)
            continue
        if column.max_length and isinstance(value, str) and len(value) > column.max_length:
            errors.add(number, key, _("最多 %(n)s 个字，这里有 %(len)s 个。") % {"n": column.max_length, "len": len(value)})
            failed.add(key)
            continue
        values[key] = value
    row = _Row(number, values)
    for column in COLUMNS:
        if column.required and column.key not in values and column.key not in failed:
            errors.add(number, column.key, _("必填。"))
    if "grid_code" in values and "building_code" in values and not values["building_code"].startswith(values["grid_code"]):
        errors.add(number, "building_code", _("楼栋编码“%(b)s”不属于网格“%(g)s”：楼栋编码须以其网格编码开头。")
                   % {"b": values["building_code"], "g": values["grid_code"]})
    if "resident_name" not in values and any(k in values for k in RESIDENT_KEYS):
        errors.add(number, "resident_name", _("填写了居民信息，但居民姓名为空。"))
    return row


# ---- the service ---------------------------------------------------------------------

def household_import(
    *,
    actor,
    jurisdiction: Jurisdiction | None,
    filename: str,
    data: bytes,
    within: str = "",
    dry_run: bool = False,
    request=None,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Import a CSV/XLSX of households and residents. ``jurisdiction=None`` is a system
    import (the command without --user): every grid, no access log (there is no account).

    1. Read the file as text rows (size, row limit, encoding, header).
    2. Parse every cell; check each grid exists, lies inside the jurisdiction and
       ``within`` (the page's unit), and that the account may edit its households.
    3. In one transaction: load and lock the buildings, households and residents the
       file names; check the rows against them and against each other (a new building
       needs an address, moved-out households, duplicates, disagreeing household cells).
    4. Any error: raise ImportRejected with all of them; nothing is written.
    5. Otherwise write in bulk: buildings, households, residents, a HouseholdChange
       (action import) per household or resident created or changed, and the AccessLog row.
    """
    try:
        table = read_table(filename=filename, data=data)
    except FileRejected as exc:
        raise ImportRejected([RowError(None, "", exc.message)]) from None
    errors = _Errors()
    memo: dict = {}
    rows = [_parse_row(number, cells, table, errors, memo)
            for number, cells in progress(table.rows, desc=_("校验"), total=len(table.rows))]
    if not rows:
        raise ImportRejected([RowError(None, "", _("文件中没有数据行。"))])
    _check_grids(rows, errors, jurisdiction=jurisdiction, within=within)
    with transaction.atomic():
        plan = _Plan.build(rows, errors, lock=not dry_run)
        if errors.items:
            raise ImportRejected(errors.sorted())
        result = plan.result(rows)
        result.ignored_headers = table.ignored_headers
        result.dry_run = dry_run
        if dry_run:
            return result
        try:
            plan.write(actor=actor, note=_("批量导入：%(f)s") % {"f": filename}, progress=progress)
        except IntegrityError:
            raise Conflict(_("导入时有其他人同时修改了这些住户，请重新导入。")) from None
        if actor is not None:
            access_log_record(user=actor, action=AccessAction.IMPORT, subject=_subject(within, rows),
                              record_count=result.rows, request=request)
    return result


def _check_grids(rows: list[_Row], errors: _Errors, *, jurisdiction: Jurisdiction | None, within: str) -> None:
    codes = {row.values["grid_code"] for row in rows if "grid_code" in row.values}
    grids = set(Grid.objects.filter(code__in=codes).values_list("code", flat=True))
    problems: dict[str, str | None] = {}
    for code in codes:
        problems[code] = _grid_problem(code, exists=code in grids, jurisdiction=jurisdiction, within=within)
    for row in rows:
        problem = problems.get(row.values.get("grid_code"))
        if problem:
            errors.add(row.number, "grid_code", problem)


def _grid_problem(code: str, *, exists: bool, jurisdiction: Jurisdiction | None, within: str) -> str | None:
    if jurisdiction is not None and not (exists and jurisdiction.covers(code)):
        # Outside the jurisdiction a grid does not exist, as on every page.
        return _("网格“%(g)s”不存在，或不在您的辖区内。") % {"g": code}
    if not exists:
        return _("网格“%(g)s”不存在：请先在系统中建立该网格。") % {"g": code}
    if within and not code.startswith(within):
        return _("网格“%(g)s”不在本次导入的范围（%(u)s）内。") % {"g": code, "u": within}
    if jurisdiction is not None:
        try:
            ensure_can_edit_households(jurisdiction, territory_code=code)
        except ActionForbidden as exc:
            return exc.message
    return None


def _subject(within: str, rows: list[_Row]) -> str:
    code = within
    if not code:
        codes = [row.values["grid_code"] for row in rows]
        code = codes[0]
        for other in codes:
            while not other.startswith(code):
                code = code[:-1]
    for length in (15, 12, 9, 6):
        if len(code) >= length:
            return f"{LEVEL_BY_LENGTH[length]}:{code[:length]}"
    return "city"


def _chunks(items: list):
    return chunked(items, CHUNK)


def _same(key: str, a, b) -> bool:
    if key == "care_tags":
        return set(choices.keys(a)) == set(choices.keys(b))
    return a == b


class _Plan:
    """What the file will do to the database, checked against what is stored."""

    def __init__(self):
        self.buildings: dict[str, Building] = {}
        self.new_buildings: dict[str, Building] = {}
        self.households: dict[tuple, Household] = {}  # stored, keyed (building code, unit, room)
        self.household_data: dict[tuple, dict] = {}  # key → {field: (value, row)}
        self.residents: dict[tuple, Resident] = {}  # stored, keyed (household key, name)
        self.resident_rows: dict[tuple, _Row] = {}
        self.new_households: list[tuple] = []
        self.changed_households: dict[tuple, dict] = {}
        self.new_residents: list[tuple] = []
        self.changed_residents: dict[tuple, dict] = {}

    @classmethod
    def build(cls, rows: list[_Row], errors: _Errors, *, lock: bool) -> "_Plan":
        plan = cls()
        good = [row for row in rows if row.number not in errors.rows]
        plan._load(good, lock=lock)
        plan._check(good, errors)
        if not errors.items:
            plan._diff()
        return plan

    def _load(self, rows: list[_Row], *, lock: bool) -> None:
        codes = sorted({row.values["building_code"] for row in rows})
        for chunk in _chunks(codes):
            self.buildings.update((b.code, b) for b in Building.objects.filter(code__in=chunk))
        building_ids = sorted(b.pk for b in self.buildings.values())
        by_id = {b.pk: b for b in self.buildings.values()}
        for chunk in _chunks(building_ids):
            qs = Household.objects.filter(building_id__in=chunk).order_by("pk")
            if lock:
                # Held until commit: a hand edit of one of these households waits for us.
                qs = qs.select_for_update()
            for household in qs:
                household.building = by_id[household.building_id]
                self.households[(household.building.code, household.unit, household.room)] = household
        wanted = {row.household_key for row in rows}
        stored = {h.pk: key for key, h in self.households.items() if key in wanted}
        for chunk in _chunks(sorted(stored)):
            for resident in Resident.objects.filter(household_id__in=chunk):
                self.residents[(stored[resident.household_id], resident.name)] = resident

    def _check(self, rows: list[_Row], errors: _Errors) -> None:
        new_building_rows: dict[str, dict] = {}
        new_building_first_row: dict[str, int] = {}
        first_row_of: dict[tuple, int] = {}
        for row in rows:
            code = row.values["building_code"]
            building = self.buildings.get(code)
            if building is not None and building.grid_id != row.values["grid_code"]:
                errors.add(row.number, "building_code", _("楼栋“%(b)s”属于网格“%(g)s”。")
                           % {"b": code, "g": building.grid_id})
                continue
            if building is None:
                new_building_first_row.setdefault(code, row.number)
                self._merge(new_building_rows.setdefault(code, {}), row, ("compound", "address"), errors)
            key = row.household_key
            first_row_of.setdefault(key, row.number)
            household = self.households.get(key)
            if household is not None and household.status == HouseholdStatus.MOVED_OUT and first_row_of[key] == row.number:
                errors.add(row.number, "room", _("该房号的住户已于 %(d)s 迁出，导入不会修改已迁出的住户。")
                           % {"d": household.moved_out_at})
            self._merge(self.household_data.setdefault(key, {}), row, HOUSEHOLD_KEYS, errors)
            name = row.get("resident_name")
            if name:
                earlier = self.resident_rows.setdefault((key, name), row)
                if earlier is not row:
                    errors.add(row.number, "resident_name", _("与第 %(r)s 行重复：同一楼栋、单元、房号的居民“%(n)s”出现了两次。")
                               % {"r": earlier.number, "n": name})
        for code, data in new_building_rows.items():
            if "address" not in data:
                errors.add(new_building_first_row[code], "address", _("楼栋“%(b)s”是新楼栋，必须填写楼栋地址。") % {"b": code})
                continue
            self.new_buildings[code] = Building(
                grid_id=code[:15], code=code, address=data["address"][0],
                compound=data.get("compound", ("", 0))[0],
            )

    @staticmethod
    def _merge(target: dict, row: _Row, keys, errors: _Errors) -> None:
        """The same household (or new building) on several rows: blanks are fine, values must agree."""
        for key in keys:
            if key not in row.values:
                continue
            value = row.values[key]
            if key not in target:
                target[key] = (value, row.number)
            elif not _same(key, target[key][0], value):
                errors.add(row.number, key, _("与第 %(r)s 行同一%(what)s填写的“%(v)s”不一致。") % {
                    "r": target[key][1], "v": target[key][0],
                    "what": _("住户") if key in HOUSEHOLD_KEYS else _("楼栋"),
                })

    def _diff(self) -> None:
        for key, data in self.household_data.items():
            household = self.households.get(key)
            if household is None:
                self.new_households.append(key)
                continue
            changes = {f: [getattr(household, f), value] for f, (value, _row) in data.items()
                       if not _same(f, getattr(household, f), value)}
            if changes:
                self.changed_households[key] = changes
        for rkey, row in self.resident_rows.items():
            data = {RESIDENT_FIELD.get(k, k): row.values[k] for k in RESIDENT_KEYS if k in row.values}
            resident = self.residents.get(rkey)
            if resident is None:
                self.new_residents.append(rkey)
                continue
            changes = {f: [getattr(resident, f), v] for f, v in data.items() if getattr(resident, f) != v}
            if changes:
                self.changed_residents[rkey] = changes

    def result(self, rows: list[_Row]) -> ImportResult:
        touched_households = set(self.new_households) | set(self.changed_households)
        touched_residents = set(self.new_residents) | set(self.changed_residents)
        unchanged = sum(
            1 for row in rows
            if row.household_key not in touched_households
            and (row.household_key, row.get("resident_name")) not in touched_residents
        )
        return ImportResult(
            rows=len(rows),
            buildings_created=len(self.new_buildings),
            households_created=len(self.new_households),
            households_updated=len(self.changed_households),
            residents_created=len(self.new_residents),
            residents_updated=len(self.changed_residents),
            rows_unchanged=unchanged,
        )

    def write(self, *, actor, note: str, progress: Progress) -> None:
        now = timezone.now()
        history: list[HouseholdChange] = []

        Building.objects.bulk_create(list(self.new_buildings.values()), batch_size=CHUNK)
        for chunk in _chunks(sorted(self.new_buildings)):
            self.buildings.update((b.code, b) for b in Building.objects.filter(code__in=chunk))

        created = []
        for key in self.new_households:
            data = {f: v for f, (v, _row) in self.household_data[key].items()}
            created.append(Household(building=self.buildings[key[0]], unit=key[1], room=key[2], **data))
        Household.objects.bulk_create(created, batch_size=CHUNK)
        self._reload_created_households(created)
        for household in created:
            key = (household.building.code, household.unit, household.room)
            self.households[key] = household
            history.append(HouseholdChange(
                household=household, action=HouseholdChangeAction.IMPORT, actor=actor, note=note,
                changes={f: [None, getattr(household, f)] for f in ("unit", "room", *HOUSEHOLD_KEYS) if getattr(household, f)},
            ))

        updated = []
        for key, changes in self.changed_households.items():
            household = self.households[key]
            for name, (_old, new) in changes.items():
                setattr(household, name, new)
            household.updated_at = now
            updated.append(household)
            history.append(HouseholdChange(household=household, action=HouseholdChangeAction.IMPORT,
                                           actor=actor, note=note, changes=changes))
        fields = sorted({f for changes in self.changed_households.values() for f in changes})
        if updated:
            Household.objects.bulk_update(updated, [*fields, "updated_at"], batch_size=CHUNK)

        new_residents = []
        for rkey in progress(self.new_residents, desc=_("写入"), total=len(self.new_residents)):
            row = self.resident_rows[rkey]
            data = {RESIDENT_FIELD.get(k, k): row.values[k] for k in RESIDENT_KEYS if k in row.values}
            household = self.households[rkey[0]]
            new_residents.append(Resident(household=household, name=rkey[1], **data))
            history.append(HouseholdChange(
                household=household, resident_name=rkey[1], action=HouseholdChangeAction.IMPORT,
                actor=actor, note=note, changes={"name": [None, rkey[1]], **{f: [None, v] for f, v in data.items()}},
            ))
        Resident.objects.bulk_create(new_residents, batch_size=CHUNK)

        changed_residents = []
        for rkey, changes in self.changed_residents.items():
            resident = self.residents[rkey]
            for name, (_old, new) in changes.items():
                setattr(resident, name, new)
            changed_residents.append(resident)
            history.append(HouseholdChange(
                household=self.households[rkey[0]], resident_name=rkey[1],
                action=HouseholdChangeAction.IMPORT, actor=actor, note=note, changes=changes,
            ))
        fields = sorted({f for changes in self.changed_residents.values() for f in changes})
        if changed_residents:
            Resident.objects.bulk_update(changed_residents, fields, batch_size=CHUNK)

        HouseholdChange.objects.bulk_create(history, batch_size=CHUNK)

    @staticmethod
    def _reload_created_households(created: list[Household]) -> None:
        """Backends that cannot return ids from a bulk insert leave pk unset: fetch them."""
        missing = [h for h in created if h.pk is None]
        if not missing:
            return
        wanted = {(h.building_id, h.unit, h.room): h for h in missing}
        for chunk in _chunks(sorted({h.building_id for h in missing})):
            for pk, building_id, unit, room in Household.objects.filter(building_id__in=chunk).values_list(
                "pk", "building_id", "unit", "room"
            ):
                household = wanted.get((building_id, unit, room))
                if household is not None:
                    household.pk = pk
