"""Archiving past years (issue 24, docs/OPERATIONS.md "Archiving past years").

A calendar year (China time) older than APPEAL_ARCHIVE_AFTER_YEARS may be moved out of
the hot tables: its finished appeals (FINAL_STATES; open ones stay and are reported) and
every row that names them (ARCHIVED_RELATIONS) go to archive tables of the same columns
and ids — on PostgreSQL ``archive.<table>``, on SQLite ``archive__<table>`` (one function
names them: archive_table) — without foreign keys. Batch by batch, each batch one
transaction (INSERT … SELECT, then DELETE): a stopped run resumes by running again, and a
row is never lost nor in both places.

What stays: the stored scores (MonthlyScore, DailyTally) and daily flows (DailyFlow) of the
year; ArchivedYear records the year, and the scoring and the flows refuse to recompute it
(and the year after, which held some of its deadlines and events). The resident's tracking
page and the staff's appeal page say that an archived appeal is archived (archived_appeal);
``restore`` moves one appeal back.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from appeals.enums import FINAL_STATES
from appeals.models import Appeal, AppealEvent, ArchivedYear, normalize_tracking_code
from governance.kernel.clock import CHINA
from governance.kernel.errors import ApplicationError, NotFound

SCHEMA = "archive"
# Every relation of Appeal (its reverse accessor): the tables whose rows move with the
# appeal, in the order they are moved (an attachment names its event). A new foreign key
# to Appeal must be added here or to KEPT_RELATIONS (tests/appeals/test_archive.py).
ARCHIVED_RELATIONS = (
    "attachments", "events", "co_handlers", "extensions", "score_exclusion", "category_suggestions",
    "open311", "meeting_links", "home_visits",
)
# merged: Appeal.merged_into (an appeal merged into one that stays keeps it: select_batch);
# meetings: the M2M through MeetingAppeal, moved as meeting_links.
KEPT_RELATIONS = ("merged", "meetings")


@dataclass
class ArchiveResult:
    year: int
    appeals: int = 0
    events: int = 0
    open_appeals: int = 0  # of the year, not final: they stay in the hot tables
    kept: int = 0  # final, but an appeal that stays was merged into them
    seconds: float = 0.0
    dry_run: bool = False


# --- tables -----------------------------------------------------------------------------------


def archive_table(table: str) -> str:
    """The archive table of hot table ``table``, quoted for SQL."""
    quote = connection.ops.quote_name
    return f"{quote(SCHEMA)}.{quote(table)}" if connection.vendor == "postgresql" else quote(f"archive__{table}")


def unhandled_relations() -> list[str]:
    """Relations of Appeal the archive does not know (a new foreign key to Appeal)."""
    known = set(ARCHIVED_RELATIONS) | set(KEPT_RELATIONS)
    return sorted(r.get_accessor_name() for r in Appeal._meta.related_objects if r.get_accessor_name() not in known)


def _tables() -> list[tuple[type[models.Model], str]]:
    """(model, column naming the appeal) of every table that moves, the appeals last."""
    if unhandled := unhandled_relations():
        raise ApplicationError(_("诉求有未纳入归档的关联表：%(names)s。请先在 appeals.archive 中处理。")
                               % {"names": "、".join(unhandled)})
    relations = {r.get_accessor_name(): r for r in Appeal._meta.related_objects}
    tables = []
    for name in ARCHIVED_RELATIONS:
        rel = relations[name]
        if rel.many_to_many:
            field = next(f for f in rel.through._meta.local_concrete_fields if f.related_model is Appeal)
            tables.append((rel.through, field.column))
        else:
            tables.append((rel.related_model, rel.field.column))
    return [*tables, (Appeal, "id")]


def _archive_columns(cursor, table: str) -> set[str]:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = %s", [SCHEMA, table])
        return {row[0] for row in cursor.fetchall()}
    cursor.execute(f"PRAGMA table_info({archive_table(table)})")
    return {row[1] for row in cursor.fetchall()}


def ensure_archive_tables() -> None:
    """Create the archive tables (same columns, no keys, an index on the appeal column),
    and add a column that a migration added to the hot table since."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        for model, column in _tables():
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {archive_table(table)} "
                               f"(LIKE {quote(table)} INCLUDING DEFAULTS)")
            else:
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {archive_table(table)} AS SELECT * FROM {quote(table)} "
                               f"WHERE 0")
            present = _archive_columns(cursor, table)
            for field in model._meta.local_concrete_fields:
                if field.column not in present:
                    cursor.execute(f"ALTER TABLE {archive_table(table)} ADD COLUMN {quote(field.column)} "
                                   f"{field.db_type(connection)}")
            lookup = "tracking_code" if model is Appeal else column
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {quote(f'archive__{table}_{lookup}'[:63])} "
                           f"ON {archive_table(table)} ({quote(lookup)})")


def _move(ids: list[int], *, back: bool = False) -> dict[type[models.Model], int]:
    """Move the appeals ``ids`` and their rows to the archive (or ``back``); rows moved per
    model. The caller holds the transaction."""
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    moved = {}
    with connection.cursor() as cursor:
        for model, column in (reversed(_tables()) if back else _tables()):
            hot, cold = quote(model._meta.db_table), archive_table(model._meta.db_table)
            source, target = (cold, hot) if back else (hot, cold)
            columns = ", ".join(quote(f.column) for f in model._meta.local_concrete_fields)
            where = f"{quote(column)} IN ({marks})"
            cursor.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source} WHERE {where}", ids)
            moved[model] = cursor.rowcount
            cursor.execute(f"DELETE FROM {source} WHERE {where}", ids)
            if cursor.rowcount != moved[model]:  # another writer between the two statements
                raise ApplicationError(_("归档中数据被并发修改，本批已回滚，请重新运行。"))
    return moved


# --- the year -----------------------------------------------------------------------------------


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=CHINA), datetime(year + 1, 1, 1, tzinfo=CHINA)


def check_year_archivable(year: int, *, now: datetime | None = None) -> None:
    """ApplicationError unless ``year`` < this year (China time) − APPEAL_ARCHIVE_AFTER_YEARS."""
    this_year = (now or timezone.now()).astimezone(CHINA).year
    after = settings.APPEAL_ARCHIVE_AFTER_YEARS
    if year >= this_year - after:
        raise ApplicationError(
            _("%(year)s 年尚不能归档：只能归档 %(last)s 年及以前的年份（APPEAL_ARCHIVE_AFTER_YEARS = %(after)s，"
              "即早于今年减 %(after)s 年）。") % {"year": year, "last": this_year - after - 1, "after": after})


def frozen_years() -> set[int]:
    """The years whose stored scores and flows must not be recomputed: an archived year and
    the year after it (which held some of its appeals' deadlines and events)."""
    years = set(ArchivedYear.objects.values_list("year", flat=True))
    return years | {y + 1 for y in years}


def _candidate_q(year: int) -> Q:
    start, end = year_bounds(year)
    return Q(created_at__gte=start, created_at__lt=end, state__in=FINAL_STATES)


def _kept(candidates, candidate_q: Q) -> set[int]:
    """Final appeals of the year that stay: an appeal that stays (not a candidate, or kept
    itself) was merged into them — the hot table's foreign key must keep its target."""
    kept = set(Appeal.objects.filter(merged_into__in=candidates).exclude(candidate_q)
               .values_list("merged_into_id", flat=True))
    frontier = kept
    while frontier:
        frontier = set(candidates.filter(merged__in=frontier).values_list("pk", flat=True)) - kept
        kept |= frontier
    return kept


def _with_merged(ids: list[int]) -> list[int]:
    """``ids`` and the appeals merged into them (transitively): they move together."""
    batch, frontier = set(ids), set(ids)
    while frontier:
        frontier = set(Appeal.objects.filter(merged_into__in=frontier).values_list("pk", flat=True)) - batch
        batch |= frontier
    return sorted(batch)


def archive_year(*, year: int, batch: int = 5000, dry_run: bool = False, now: datetime | None = None,
                 on_batch: Callable[[int], None] | None = None) -> ArchiveResult:
    """Move the finished appeals of ``year`` and their rows to the archive tables.

    Steps: 1. refuse a year not old enough (check_year_archivable); 2. count the year's
    open appeals (they stay) and the final ones that must stay (_kept); 3. if any is left
    to move: create the archive tables and record ArchivedYear (from now on the year's
    scores are frozen); 4. batch by batch in id order (with the appeals merged into them),
    each in one transaction: lock the appeals, INSERT … SELECT into the archive, DELETE
    from the hot table, add the counts to ArchivedYear, call ``on_batch(appeals)``
    (inside the transaction: raising there undoes the batch). Safe to run again.
    """
    started = time.monotonic()
    check_year_archivable(year, now=now)
    result = ArchiveResult(year=year, dry_run=dry_run)
    start, end = year_bounds(year)
    result.open_appeals = Appeal.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        state__in=FINAL_STATES).count()
    candidate_q = _candidate_q(year)
    candidates = Appeal.objects.filter(candidate_q)
    kept = _kept(candidates, candidate_q)
    result.kept = len(kept)
    movable = candidates.exclude(pk__in=kept).order_by("pk")
    if dry_run:
        result.appeals = movable.count()
        result.events = AppealEvent.objects.filter(appeal__in=movable).count()
        result.seconds = round(time.monotonic() - started, 1)
        return result
    if not movable.exists():
        result.seconds = round(time.monotonic() - started, 1)
        return result
    ensure_archive_tables()
    ArchivedYear.objects.get_or_create(year=year, defaults={"archived_at": now or timezone.now()})
    last = 0
    while ids := list(movable.filter(pk__gt=last).values_list("pk", flat=True)[:batch]):
        last = ids[-1]
        ids = _with_merged(ids)
        with transaction.atomic():
            # No new event or link can name them meanwhile (PostgreSQL; SQLite writes one at a time).
            list(Appeal.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
            moved = _move(ids)
            events = moved[AppealEvent]
            ArchivedYear.objects.filter(year=year).update(
                appeals=F("appeals") + moved[Appeal], events=F("events") + events, archived_at=now or timezone.now())
            if on_batch is not None:
                on_batch(moved[Appeal])
        result.appeals += moved[Appeal]
        result.events += events
    result.seconds = round(time.monotonic() - started, 1)
    return result


# --- reading one back --------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedAppeal:
    pk: int
    year: int
    phone: str
    merged_into_id: int | None
    territory_code: str
    handling_department_id: int | None


def archived_appeal(tracking_code: str) -> ArchivedAppeal | None:
    """The archived appeal of this tracking code, or None (also when nothing was archived)."""
    code = normalize_tracking_code(tracking_code)
    if not code or not ArchivedYear.objects.exists():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, created_at, phone, merged_into_id, territory_code, handling_department_id FROM {archive_table(Appeal._meta.db_table)} "
                       f"WHERE tracking_code = %s", [code])
        row = cursor.fetchone()
    if row is None:
        return None
    created = row[1] if isinstance(row[1], datetime) else parse_datetime(row[1])
    if timezone.is_naive(created):
        created = created.replace(tzinfo=dt_timezone.utc)
    return ArchivedAppeal(pk=row[0], year=created.astimezone(CHINA).year, phone=row[2] or "", merged_into_id=row[3],
                          territory_code=row[4] or "", handling_department_id=row[5])


def archived_message(year: int) -> str:
    """What a resident or a staff member is told of an archived appeal (no personal data)."""
    return _("该诉求属于 %(year)s 年，已归档，不再在线显示。如需查阅，请携带查询码联系 12345 热线或所在街道，"
             "由管理员调取归档记录。") % {"year": year}


class AppealArchived(ApplicationError):
    """The appeal was moved to the archive: 404, with the year and how to ask for it (not
    a NotFound: the resident's guess was right, and is not counted as a wrong one)."""

    status_code = 404
    code = "archived"

    def __init__(self, year: int):
        super().__init__(archived_message(year), extra={"year": year})


def restore(*, tracking_code: str) -> ArchivedAppeal:
    """Move one archived appeal and its rows back to the hot tables, in one transaction.

    Steps: 1. find it in the archive (NotFound); 2. the appeal it was merged into must be
    in the hot tables (restore that one first); 3. move its rows back and take it off
    ArchivedYear's counts."""
    appeal = archived_appeal(tracking_code)
    if appeal is None:
        raise NotFound(_("归档中没有查询码为 %(code)s 的诉求。") % {"code": normalize_tracking_code(tracking_code)})
    if appeal.merged_into_id and not Appeal.objects.filter(pk=appeal.merged_into_id).exists():
        raise ApplicationError(_("该诉求已并入另一件已归档的诉求（编号 %(pk)s），请先恢复那一件。")
                               % {"pk": appeal.merged_into_id})
    with transaction.atomic():
        moved = _move([appeal.pk], back=True)
        ArchivedYear.objects.filter(year=appeal.year).update(
            appeals=F("appeals") - moved[Appeal], events=F("events") - moved[AppealEvent])
    return appeal
