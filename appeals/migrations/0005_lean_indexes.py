"""Fewer indexes on appeals (issue 8, docs/BENCHMARKS.md "What each design choice bought").

appeals_appeal had 38 indexes: every INSERT wrote 38 entries, and every UPDATE that
changes an indexed column (a state change, an escalation) is not HOT and writes all of
them again. The foreign keys' own indexes go where a composite index leads with the same
column (building, street, community, the handling units), and so do the "_like"
(varchar_pattern_ops) twins PostgreSQL gets for every code foreign key (codes are matched
by prefix on territory_code only); district and grid keep a plain index (their PROTECT
checks); the handling units' composites and the rarely set keys (dispatcher, merge,
claim) become partial (IS NOT NULL). appeals_appealevent.appeal_id is covered by
appealevent_appeal (appeal, created_at).

Only the model state's fields change (db_index=False). In the database this migration only
drops and creates indexes: Django's AlterField would also drop and re-add each foreign key
constraint, re-validating it over every row of a table of millions.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# (table, column) whose single-column foreign key index (and its "_like" twin) goes.
FK_COLUMNS = [
    ("appeals_appeal", "building_id"),
    ("appeals_appeal", "claimed_by_id"),
    ("appeals_appeal", "community_code"),
    ("appeals_appeal", "dispatched_by_id"),
    ("appeals_appeal", "district_code"),
    ("appeals_appeal", "grid_code"),
    ("appeals_appeal", "handling_community_code"),
    ("appeals_appeal", "handling_department_id"),
    ("appeals_appeal", "handling_grid_code"),
    ("appeals_appeal", "handling_street_code"),
    ("appeals_appeal", "merged_into_id"),
    ("appeals_appeal", "street_code"),
    ("appeals_appealevent", "appeal_id"),
]


def drop_fk_indexes(apps, schema_editor):
    """Drop the non-unique indexes on exactly one of FK_COLUMNS, found by introspection
    (their names are hashes Django made up)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, column in FK_COLUMNS:
            constraints = connection.introspection.get_constraints(cursor, table)
            for name, info in constraints.items():
                if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]:
                    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):

    dependencies = [
        ('appeals', '0004_appeal_state_territory_created'),
        ('grids', '0001_initial'),
        ('volunteers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_hgrid_state',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_hcomm_state',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_hstreet_state',
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_hdept_state',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='appeal',
                    name='building',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.building', verbose_name='楼栋'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='claimed_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claimed_appeals', to='volunteers.volunteer', verbose_name='接单志愿者'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='community',
                    field=models.ForeignKey(blank=True, db_column='community_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.community', to_field='code', verbose_name='社区'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='dispatched_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='派单人'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='district',
                    field=models.ForeignKey(blank=True, db_column='district_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.district', to_field='code', verbose_name='区'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='grid',
                    field=models.ForeignKey(blank=True, db_column='grid_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.grid', to_field='code', verbose_name='网格'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='handling_community',
                    field=models.ForeignKey(blank=True, db_column='handling_community_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.community', to_field='code', verbose_name='办理社区'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='handling_department',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.department', verbose_name='办理部门'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='handling_grid',
                    field=models.ForeignKey(blank=True, db_column='handling_grid_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.grid', to_field='code', verbose_name='办理网格'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='handling_street',
                    field=models.ForeignKey(blank=True, db_column='handling_street_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.street', to_field='code', verbose_name='办理街道'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='merged', to='appeals.appeal', verbose_name='并入诉求'),
                ),
                migrations.AlterField(
                    model_name='appeal',
                    name='street',
                    field=models.ForeignKey(blank=True, db_column='street_code', db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='grids.street', to_field='code', verbose_name='街道'),
                ),
                migrations.AlterField(
                    model_name='appealevent',
                    name='appeal',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='appeals.appeal', verbose_name='诉求'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_fk_indexes, migrations.RunPython.noop, elidable=False)],
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('handling_grid__isnull', False)), fields=['handling_grid', 'state'], name='appeal_hgrid_state'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('handling_community__isnull', False)), fields=['handling_community', 'state'], name='appeal_hcomm_state'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('handling_street__isnull', False)), fields=['handling_street', 'state'], name='appeal_hstreet_state'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('handling_department__isnull', False)), fields=['handling_department', 'state'], name='appeal_hdept_state'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['district'], name='appeal_district'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['grid'], name='appeal_grid'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('dispatched_by__isnull', False)), fields=['dispatched_by'], name='appeal_dispatched_by'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='appeal_merged_into'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(condition=models.Q(('claimed_by__isnull', False)), fields=['claimed_by'], name='appeal_claimed_by'),
        ),
    ]
