"""A community's appeals of one state, newest first (issue 24, docs/BENCHMARKS.md).

``GET /api/v1/appeals/?state=closed&community=…`` at ten million appeals walked the city's
(created_at, id) index backwards and filtered (643,000 rows read for 51, 521 ms p95). The
filter is now ``community_code =`` (appeals.filters) and this index, (community, state,
created_at, id), gives the page as the next rows of one range. It replaces (community,
state) rather than adding to it: its prefix serves everything that one did (the queue's
and the unit pages' community keys, the community's PROTECT check), and every index on
appeals is written by each intake. The new one is built before the old one goes, as in
0017, so the community keys are never without an index.
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
    ]
