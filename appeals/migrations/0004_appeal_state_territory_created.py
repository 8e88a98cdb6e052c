"""An index for scoped lists by state, newest first (issue 8, docs/BENCHMARKS.md).

The API list ``?state=closed&community=…`` (state + a ``territory_code`` prefix, ordered by
``-created_at``) at a million appeals: without it PostgreSQL walks ``appeal_created``
backwards over the whole table (581 ms); with it, one range scan of the community's rows
(3.4 ms). PostgreSQL only: the prefix match needs ``varchar_pattern_ops``, which SQLite
lacks (and does not need at its sizes); the model's Meta is left alone, so the index
is invisible to makemigrations.
"""

from django.db import migrations

NAME = "appeal_state_territory_created"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON appeals_appeal (state, territory_code varchar_pattern_ops, created_at)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("appeals", "0003_volunteer_claims")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
