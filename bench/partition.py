#!/usr/bin/env python
"""Issue 24's partitioning experiment: the event table partitioned by month, measured
against the plain table on the same database (docs/BENCHMARKS.md, "Partitioning").

    python bench/partition.py apply   --database gz_bench_l   # plain → monthly partitions
    python bench/run.py measure --tier L --out L-partitioned --only …     # the pages and sweeps
    python bench/partition.py archive --database gz_bench_l   # moving a month out, both ways
    python bench/partition.py revert  --database gz_bench_l   # back to the plain table
    python bench/partition.py archive-year --database gz_copy_m --year 2025   # the real command, timed

``archive-year`` runs ``appeals.archive.archive_year`` as of a year late enough (so that
the seeded past year may be archived) on a database it changes for good: a copy.

``apply`` keeps the plain table beside the partitioned one (renamed
``appeals_appealevent_plain``), so that ``archive`` can time both and ``revert`` is a
rename. The application code does not change: the partitioned table has the same name
and columns. What PostgreSQL asks in exchange is written here: the primary key becomes
(id, created_at), and the attachments' foreign key to an event (which needs a unique id
alone) is dropped while the experiment runs.
"""

import argparse
import sys
import time
from datetime import date

import psycopg2

if __name__ == "__main__":  # run as a script: the project root, not bench/, first on the path
    from pathlib import Path

    sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

PG_URL = "postgres://postgres@127.0.0.1:5432"
EVENTS = "appeals_appealevent"
PLAIN = f"{EVENTS}_plain"
PART = f"{EVENTS}_part"  # the partitioned table while it is built, and its partitions' prefix
ATTACHMENT_FK = ("appeals_appealattachment", "event_id")
# The plain table's secondary indexes (appeals/models.py AppealEvent.Meta), created on the
# partitioned parent with the same names so that the planner sees the same choices.
INDEXES = {
    "appealevent_action": "(action, created_at)",
    "appealevent_actor": "(actor_id) WHERE actor_id IS NOT NULL",
    "appealevent_appeal": "(appeal_id, created_at)",
    "appealevent_created": "(created_at)",
}


def connect(database: str):
    connection = psycopg2.connect(f"{PG_URL}/{database}")
    connection.autocommit = False
    return connection


def months(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
    return out


def _next(month: date) -> date:
    return month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [EVENTS])
    return cursor.fetchone()[0] == "p"


def attachment_fk(cursor) -> str | None:
    cursor.execute("""SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'
                      AND confrelid IN (%s::regclass)""", [ATTACHMENT_FK[0], EVENTS])
    row = cursor.fetchone()
    return row[0] if row else None


def apply(database: str) -> None:
    """Build the partitioned table beside the plain one (``appeals_appealevent_part``),
    copy and index it, then swap the names in one short transaction: readers see the plain
    table until the swap, the partitioned one after it."""
    connection = connect(database)
    with connection.cursor() as cursor:
        if is_partitioned(cursor):
            sys.exit(f"{database}: {EVENTS} is partitioned already")
        cursor.execute(f"DROP TABLE IF EXISTS {PART}")  # a stopped run's
        cursor.execute(f"SELECT min(created_at)::date, max(created_at)::date, max(id) FROM {EVENTS}")
        first, last, top = cursor.fetchone()
        started = time.monotonic()
        cursor.execute(f"CREATE TABLE {PART} (LIKE {EVENTS} INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)")
        # A month ahead of the last event (the sweeps' and the intake's writes), and a default.
        spans = months(first, _next(_next(last)))
        for month in spans:
            cursor.execute(f"""CREATE TABLE {PART}_{month:%Y%m} PARTITION OF {PART}
                               FOR VALUES FROM (%s) TO (%s)""", [month, _next(month)])
        cursor.execute(f"CREATE TABLE {PART}_default PARTITION OF {PART} DEFAULT")
        connection.commit()
        print(f"{len(spans)} monthly partitions {spans[0]:%Y-%m}…{spans[-1]:%Y-%m}; copying the events up to id {top:,}")
        copy = time.monotonic()
        cursor.execute(f"INSERT INTO {PART} SELECT * FROM {EVENTS} WHERE id <= %s", [top])
        rows = cursor.rowcount
        connection.commit()
        print(f"copied {rows:,} in {time.monotonic() - copy:.0f} s")
        build = time.monotonic()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(f"ALTER TABLE {PART} ADD CONSTRAINT {PART}_pkey PRIMARY KEY (id, created_at)")
        for name, columns in INDEXES.items():
            cursor.execute(f"CREATE INDEX {name}_part ON {PART} {columns}")
        cursor.execute(f"""ALTER TABLE {PART} ADD CONSTRAINT {EVENTS}_appeal_fk FOREIGN KEY (appeal_id)
                           REFERENCES appeals_appeal (id) DEFERRABLE INITIALLY DEFERRED""")
        connection.commit()
        print(f"indexes in {time.monotonic() - build:.0f} s")
        connection.autocommit = True  # VACUUM: the statistics before readers see the table
        cursor.execute(f"VACUUM (ANALYZE) {PART}")
        connection.autocommit = False
        # The swap: the events written since the copy, then the names.
        cursor.execute(f"LOCK TABLE {EVENTS} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"INSERT INTO {PART} SELECT * FROM {EVENTS} WHERE id > %s", [top])
        cursor.execute(f"SELECT max(id) FROM {EVENTS}")
        newest = cursor.fetchone()[0] or 0
        fk = attachment_fk(cursor)
        if fk:
            cursor.execute(f"ALTER TABLE {ATTACHMENT_FK[0]} DROP CONSTRAINT {fk}")
        cursor.execute(f"ALTER TABLE {EVENTS} RENAME TO {PLAIN}")
        cursor.execute(f"ALTER INDEX {EVENTS}_pkey RENAME TO {PLAIN}_pkey")
        for name in INDEXES:
            cursor.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_plain")
            cursor.execute(f"ALTER INDEX {name}_part RENAME TO {name}")
        # The plain table's identity goes with it: the parent takes its own, past the ids.
        cursor.execute(f"ALTER TABLE {PLAIN} ALTER id DROP IDENTITY IF EXISTS")
        cursor.execute(f"ALTER TABLE {PART} RENAME TO {EVENTS}")
        cursor.execute(f"ALTER INDEX {PART}_pkey RENAME TO {EVENTS}_pkey")
        cursor.execute(f"ALTER TABLE {EVENTS} ALTER id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {newest + 1})")
        connection.commit()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_total_relation_size('{PLAIN}'), "
                       f"(SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                       f"WHERE inhparent = '{EVENTS}'::regclass)")
        plain_size, parted_size = cursor.fetchone()
    print(f"{database}: {EVENTS} partitioned by month in {time.monotonic() - started:.0f} s; "
          f"plain {plain_size / 2**30:.1f} GB, partitioned {parted_size / 2**30:.1f} GB")


def revert(database: str) -> None:
    connection = connect(database)
    with connection.cursor() as cursor:
        if not is_partitioned(cursor):
            sys.exit(f"{database}: {EVENTS} is not partitioned")
        # Events written while partitioned (the measurements restore theirs) go back too.
        cursor.execute(f"SELECT max(id) FROM {PLAIN}")
        top = cursor.fetchone()[0] or 0
        cursor.execute(f"INSERT INTO {PLAIN} SELECT * FROM {EVENTS} WHERE id > %s", [top])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the copy's deferred checks, before the ALTERs
        cursor.execute(f"SELECT max(id) FROM {EVENTS}")
        newest = max(cursor.fetchone()[0] or 0, top)
        cursor.execute(f"DROP TABLE {EVENTS}")
        cursor.execute(f"ALTER TABLE {PLAIN} RENAME TO {EVENTS}")
        cursor.execute(f"ALTER INDEX {PLAIN}_pkey RENAME TO {EVENTS}_pkey")
        for name in INDEXES:
            cursor.execute(f"ALTER INDEX IF EXISTS {name}_plain RENAME TO {name}")
        cursor.execute(f"ALTER TABLE {EVENTS} ALTER id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {newest + 1})")
        cursor.execute(f"""ALTER TABLE {ATTACHMENT_FK[0]} ADD CONSTRAINT appeals_appealattach_event_id_fk
                           FOREIGN KEY ({ATTACHMENT_FK[1]}) REFERENCES {EVENTS} (id) DEFERRABLE INITIALLY DEFERRED""")
    connection.commit()
    print(f"{database}: {EVENTS} is the plain table again")


def archive(database: str, month: date | None) -> None:
    """Move one month of events out of the hot table, both ways, each in a transaction
    rolled back afterwards: the plain table by INSERT … SELECT into an archive table and
    DELETE; the partitioned one by detaching the month's partition."""
    connection = connect(database)
    with connection.cursor() as cursor:
        if not is_partitioned(cursor):
            sys.exit(f"{database}: apply first (the comparison needs both tables)")
        if month is None:
            cursor.execute(f"SELECT min(created_at)::date FROM {PLAIN}")
            month = _next(cursor.fetchone()[0].replace(day=1))  # the first whole month
        bounds = [month, _next(month)]
        cursor.execute("CREATE SCHEMA IF NOT EXISTS archive")
        connection.commit()
        started = time.monotonic()
        cursor.execute(f"CREATE TABLE archive.events_plain (LIKE {PLAIN})")
        cursor.execute(f"INSERT INTO archive.events_plain SELECT * FROM {PLAIN} WHERE created_at >= %s "
                       f"AND created_at < %s", bounds)
        moved = cursor.rowcount
        cursor.execute(f"DELETE FROM {PLAIN} WHERE created_at >= %s AND created_at < %s", bounds)
        plain_seconds = time.monotonic() - started
        connection.rollback()
        started = time.monotonic()
        cursor.execute(f"ALTER TABLE {EVENTS} DETACH PARTITION {PART}_{month:%Y%m}")
        cursor.execute(f"ALTER TABLE {PART}_{month:%Y%m} SET SCHEMA archive")
        parted_seconds = time.monotonic() - started
        connection.rollback()
    print(f"{database}: moving {month:%Y-%m}'s {moved:,} events out of the hot table: plain (INSERT … SELECT + "
          f"DELETE) {plain_seconds:.1f} s, partitioned (DETACH PARTITION) {parted_seconds:.3f} s; both rolled back")


def archive_command(database: str, year: int) -> None:
    """Time the archive path (docs/OPERATIONS.md) on ``database``: appeals and events moved
    per second, batch by batch, as `manage.py archive_year` moves them."""
    import tempfile
    from datetime import datetime

    from bench.run import django_setup

    if database.startswith("gz_bench_"):
        sys.exit(f"{database}: archive-year changes the database for good; run it on a copy "
                 f"(createdb -T {database} gz_copy_…)")
    django_setup(database, tempfile.mkdtemp(prefix="gz-archive-"))
    from django.conf import settings
    from django.utils import timezone

    from appeals.archive import archive_year

    now = timezone.make_aware(datetime(year + settings.APPEAL_ARCHIVE_AFTER_YEARS + 1, 1, 2))
    dry = archive_year(year=year, dry_run=True, now=now)
    print(f"{database}: {year}: {dry.appeals:,} appeals and {dry.events:,} events to move, "
          f"{dry.open_appeals:,} open stay, {dry.kept:,} kept")
    done = archive_year(year=year, now=now)
    print(f"{database}: archived {done.appeals:,} appeals and {done.events:,} events in {done.seconds} s: "
          f"{done.appeals / max(done.seconds, 0.001):,.0f} appeals/s, {done.events / max(done.seconds, 0.001):,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["apply", "revert", "archive", "archive-year"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--month", type=date.fromisoformat, default=None, help="archive: YYYY-MM-01")
    parser.add_argument("--year", type=int, default=0, help="archive-year: the year to archive")
    args = parser.parse_args()
    {"apply": lambda: apply(args.database), "revert": lambda: revert(args.database),
     "archive": lambda: archive(args.database, args.month),
     "archive-year": lambda: archive_command(args.database, args.year)}[args.command]()


if __name__ == "__main__":
    main()
