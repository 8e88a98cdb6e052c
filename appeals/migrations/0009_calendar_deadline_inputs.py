"""The working-day calendar and the deadline's inputs (issue 13).

- WorkdayOverride becomes CalendarDay (its rows kept, as 调整 with their note as name):
  one table of entered days with their source (国办通知 / 法定 / 调整) and name;
- CalendarYear: whether a year's official schedule was entered, and a pending
  re-computation of its open deadlines;
- the appeal's deadline inputs (start, limit, unit, approved extension days): nullable
  columns only, so that PostgreSQL adds them without rewriting the table; rows dispatched
  before have them derived when a re-computation needs them (appeals.recompute).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def overrides_to_days(apps, schema_editor):
    """The old overrides are local adjustments (调整); their note was their name."""
    CalendarDay = apps.get_model("appeals", "CalendarDay")
    for day in CalendarDay.objects.all():
        day.source = "override"
        day.name = day.note[:30]
        day.note = day.note if len(day.note) > 30 else ""
        day.save(update_fields=["source", "name", "note"])


def days_to_overrides(apps, schema_editor):
    CalendarDay = apps.get_model("appeals", "CalendarDay")
    for day in CalendarDay.objects.all():
        if day.name and not day.note:
            day.note = day.name
            day.save(update_fields=["note"])


class Migration(migrations.Migration):

    dependencies = [
        ("appeals", "0008_open311_address_unclear_and_point"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="WorkdayOverride", new_name="CalendarDay"),
        migrations.AlterModelOptions(
            name="calendarday",
            options={"ordering": ["date"], "verbose_name": "节假日与调休", "verbose_name_plural": "节假日与调休"},
        ),
        migrations.AlterField(
            model_name="calendarday",
            name="is_workday",
            field=models.BooleanField(help_text="勾选：上班；不勾选：休息", verbose_name="工作日"),
        ),
        migrations.AddField(
            model_name="calendarday",
            name="source",
            field=models.CharField(
                choices=[("official", "国办通知"), ("law", "法定"), ("override", "调整")], default="official",
                max_length=10, verbose_name="来源",
            ),
        ),
        migrations.AddField(
            model_name="calendarday",
            name="name",
            field=models.CharField(blank=True, help_text="如 元旦、春节、调休上班、临时停工", max_length=30, verbose_name="名称"),
        ),
        migrations.RunPython(overrides_to_days, days_to_overrides),
        migrations.CreateModel(
            name="CalendarYear",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year", models.PositiveSmallIntegerField(unique=True, verbose_name="年份")),
                ("official_entered", models.BooleanField(
                    default=False,
                    help_text="国务院办公厅公布当年节假日安排并录入为“国办通知”日期后勾选；此前该年按法定假日推算，为暂定。",
                    verbose_name="已录入国办通知",
                )),
                ("entered_at", models.DateTimeField(blank=True, null=True, verbose_name="标记时间")),
                ("recompute_requested_at", models.DateTimeField(
                    blank=True, editable=False, null=True, verbose_name="待重算时限")),
                ("recompute_reason", models.CharField(blank=True, editable=False, max_length=200, verbose_name="重算原因")),
                ("recomputed_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="最近重算时间")),
                ("entered_by", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                    to=settings.AUTH_USER_MODEL, verbose_name="标记人",
                )),
            ],
            options={"verbose_name": "年度工作日历", "verbose_name_plural": "年度工作日历", "ordering": ["-year"]},
        ),
        # Nullable, no default: a catalogue change on PostgreSQL, not a rewrite of the table.
        migrations.AddField(
            model_name="appeal",
            name="deadline_start",
            field=models.DateTimeField(blank=True, null=True, verbose_name="时限起算时间"),
        ),
        migrations.AddField(
            model_name="appeal",
            name="deadline_limit",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="办结时限数值"),
        ),
        migrations.AddField(
            model_name="appeal",
            name="deadline_unit",
            field=models.CharField(
                blank=True, choices=[("hours", "小时"), ("working_days", "工作日")], max_length=14, null=True,
                verbose_name="办结时限单位",
            ),
        ),
        migrations.AddField(
            model_name="appeal",
            name="deadline_extension_days",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="批准延期工作日数"),
        ),
        migrations.AlterField(
            model_name="appealevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("receive", "受理"), ("dispatch", "派单"), ("decline", "不予受理"), ("merge", "并案"),
                    ("withdraw", "撤回"), ("sign", "签收"), ("claim", "志愿者接单"), ("return", "退单"),
                    ("resolve", "办结"), ("verify_pass", "核查通过"), ("verify_fail", "核查未通过"),
                    ("feedback", "反馈"), ("evaluate", "评价"), ("close_unevaluated", "超期未评价结案"),
                    ("contact", "先行联系"), ("note", "办理进展"), ("reroute", "改派"), ("whistle", "吹哨"),
                    ("checkin", "部门报到"), ("escalate", "升级上报"), ("warn", "临期预警"), ("remind", "催办"),
                    ("extend_request", "申请延期"), ("extend_approve", "批准延期"), ("extend_reject", "驳回延期"),
                    ("deadline_correct", "时限校正"),
                ],
                max_length=20, verbose_name="操作",
            ),
        ),
    ]
