"""Fast inserts of plain rows (dicts keyed by field attname) for the big tables.

On PostgreSQL: COPY … FROM STDIN (CSV, ``\\N`` for NULL) from an in-memory buffer, one
buffer per batch — several times faster than multi-row INSERTs and far cheaper in
memory than model instances. Elsewhere (SQLite, the smoke test): ``executemany`` of the
same rows. Either way the rows bypass ``save()``, so ``auto_now_add`` cannot overwrite
the historical times, and every column is written: fields left out of a row take the
model field's default, as Django would (COPY knows no Django defaults).
"""

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

from django.db import connection

NULL = r"\N"


def chunked(items: list, size: int):
    """The list in consecutive slices of at most ``size`` items (each, say, one
    transaction or one query's IN list)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _columns(model) -> list:
    return list(model._meta.concrete_fields)


def _defaults(fields: list) -> dict:
    return {f.attname: f.get_default() for f in fields if f.has_default() or not f.null}


def _csv_value(value):
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal | int | float):
        return str(value)
    return value


def copy_rows(model, rows: list[dict]) -> int:
    """Insert ``rows`` into ``model``'s table in one COPY (or one executemany); returns the count.

    A row must name its primary key if later rows point at it (the caller numbers
    them; ``sequence_reset`` moves the sequence past them afterwards).
    """
    if not rows:
        return 0
    fields = _columns(model)
    present = set(rows[0])
    fields = [f for f in fields if f.attname in present or not f.primary_key]
    defaults = _defaults(fields)
    names = [f.attname for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for row in rows:
                writer.writerow([_csv_value(row[n] if n in row else defaults.get(n)) for n in names])
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer)
        else:
            params = [
                [f.get_db_prep_save(row[f.attname] if f.attname in row else defaults.get(f.attname), connection)
                 for f in fields]
                for row in rows
            ]
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", params)
    return len(rows)


def next_id(model) -> int:
    """The first free primary key of ``model``'s table."""
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def sequence_reset(*models) -> None:
    """Move the id sequences past the ids written by hand (PostgreSQL; SQLite needs nothing)."""
    if connection.vendor != "postgresql":
        return
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)
