"""The operator's check of a year's working days, and the re-computation of its open
deadlines (issue 13):

    python manage.py workdays --year 2027            # one line per day: ISO date, name, source
    python manage.py workdays --year 2027 --apply    # and re-compute the open deadlines now

The day lines go to standard output (one per non-working day that is not an ordinary
weekend, per statutory day, per 调休 working day and per entered day); the year's status
and the re-computation's figures go to standard error.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from appeals.enums import CalendarSource
from appeals.recompute import year_recompute
from appeals.workdays import is_provisional, library_covers, weekday_name, year_days

FIRST_YEAR, LAST_YEAR = 1901, 2099  # the lunar calendar's range (lunardate)


class Command(BaseCommand):
    help = "列出某年的节假日、补假和调休上班日（日期、名称、来源）；--apply 立即重算该年未办结诉求的办结时限。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年份，如 2027")
        parser.add_argument("--apply", action="store_true",
                            help="按当前日历重算涉及该年的未办结诉求的办结时限（如升级 chinesecalendar 之后）")

    def handle(self, *args, year: int, apply: bool = False, **options):
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise CommandError(_("年份须在 %(a)s 至 %(b)s 之间。") % {"a": FIRST_YEAR, "b": LAST_YEAR})
        sources = dict(CalendarSource.choices)
        for day in year_days(year):
            status = _("上班") if day.workday else _("休息")
            self.stdout.write(f"{day.date.isoformat()} {day.name} {sources[day.source]} {status}（{weekday_name(day.date)}）")
        self.stderr.write(self._status(year))
        if apply:
            result = year_recompute(year=year, force=True, reason=_("运行 workdays 命令重算"))
            self.stderr.write(_("已重算 %(year)s 年：核对 %(checked)s 件未办结诉求，校正 %(moved)s 件（其中 %(guarded)s 件"
                                "不早于下一个工作日结束），无法推算时限依据 %(unknown)s 件。") % {
                "year": year, "checked": result.checked, "moved": result.moved, "guarded": result.guarded,
                "unknown": result.unknown,
            })

    @staticmethod
    def _status(year: int) -> str:
        if library_covers(year):
            return _("%(year)s 年：国办通知（chinesecalendar 数据），另加管理员录入的日期。") % {"year": year}
        if is_provisional(year):
            return _("%(year)s 年：暂定。chinesecalendar 无该年数据，按《全国年节及纪念日放假办法》推算法定假日和补假；"
                     "录入国办通知后请在管理后台标记“已录入国办通知”。") % {"year": year}
        return _("%(year)s 年：国办通知（管理员已录入并标记），周末之外按录入的日期。") % {"year": year}
