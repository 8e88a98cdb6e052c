"""A street's or community's appeals of one state, newest first (issue 24, docs/BENCHMARKS.md).

``GET /api/v1/appeals/?state=closed&community=…`` at ten million appeals walked the city's
(created_at, id) index backwards and filtered (643,000 rows read for 51, 521 ms p95). The
street and community filters are now the units' keys (appeals.filters), and these indexes,
(unit, state, created_at, id), give a page as the next rows of one range. They replace
(community, state) and (street, state, id) rather than adding to them: their prefixes serve
everything those did (the queue's and the unit pages' keys, the units' PROTECT checks; 类案参考
now reads a street's window newest first by (created_at, id)), and every index on appeals is
written by each intake. Each new index is built before the old one goes, as in 0017, so the
keys are never without an index.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appeals', '0022_appeal_open_deadline_index'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['community', 'state', 'created_at', 'id'], name='appeal_comm_state_created'),
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_comm_state',
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['street', 'state', 'created_at', 'id'], name='appeal_street_state_created'),
        ),
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_street_state_id',
        ),
    ]
