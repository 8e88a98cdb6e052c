"""The rest of 0002: the old hours column goes, and reversing lines (冲正) are allowed
(delta ≤ 0). Apart from 0002's data step, so that PostgreSQL alters tables with no
pending trigger events."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('volunteers', '0002_credited_minutes_and_accrued_points'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='pointsentry',
            name='points_delta_sign_matches_kind',
        ),
        migrations.RemoveConstraint(
            model_name='signup',
            name='signup_hours_not_negative',
        ),
        migrations.RemoveField(
            model_name='signup',
            name='hours_credited',
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='kind',
            field=models.CharField(choices=[('earn', '获得'), ('redeem', '兑换'), ('adjust', '调整'), ('reversal', '冲正')], max_length=8, verbose_name='类型'),
        ),
        migrations.AddConstraint(
            model_name='pointsentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('delta__gte', 0), ('kind', 'earn')), models.Q(('delta__lt', 0), ('kind', 'redeem')), models.Q(('delta__lte', 0), ('kind', 'reversal')), ('kind', 'adjust'), _connector='OR'), name='points_delta_sign_matches_kind'),
        ),
    ]
