# The lists' keyset pages (governance.kernel.keyset): one index per offered order.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appeals', '0017_street_state_id_index'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['created_at', 'id'], name='appeal_created_id'),
        ),
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['deadline', 'id'], name='appeal_deadline_id'),
        ),
        # (created_at, id) serves every query the created_at index did.
        migrations.RemoveIndex(
            model_name='appeal',
            name='appeal_created',
        ),
    ]
