"""Months, quarters and date ranges in China time, and the cutoff that makes a month final.

A deadline belongs to the calendar day (Asia/Shanghai) in which it falls; a working-day
deadline "ends at 24:00" of its last day, stored as 00:00 of the next day, so a
deadline at exactly midnight belongs to the day before: days are half-open on the left,
(00:00, 24:00].
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from governance.kernel.clock import CHINA
from governance.kernel.errors import ApplicationError
from governance.kernel.params import MAX_YEAR, MIN_YEAR

_EPSILON = timedelta(microseconds=1)


def local_midnight(day: date) -> datetime:
    """00:00 China time at the start of ``day``, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=CHINA)


def deadline_day(deadline: datetime) -> date:
    """The day a deadline falls in: 24:00 (= next 00:00) belongs to the day before."""
    return (deadline - _EPSILON).astimezone(CHINA).date()


def day_window(first: date, last: date) -> tuple[datetime, datetime]:
    """The deadlines that fall on days first..last: (start, end], aware."""
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_end(month: date) -> date:
    """The month's last day."""
    return next_month(month) - timedelta(days=1)


def cutoff_moment(month: date) -> datetime:
    """When ``month`` becomes final: 00:00 China time on SCORE_CUTOFF_DAY of the next
    month. Events from then on never count for it."""
    return local_midnight(next_month(month).replace(day=settings.SCORE_CUTOFF_DAY))


def is_final(month: date, now: datetime) -> bool:
    """A month is final (its scores stored for good) once its cutoff has passed."""
    return now >= cutoff_moment(month)


def last_final_month(now: datetime) -> date:
    """The latest final month: last month from its cutoff day on, else the month before."""
    month = previous_month(month_start(today_local(now)))
    return month if is_final(month, now) else previous_month(month)


def parse_month(value: str) -> date:
    """ "2026-10" → date(2026, 10, 1); ApplicationError otherwise."""
    try:
        parsed = datetime.strptime((value or "").strip(), "%Y-%m").date()
    except ValueError:
        raise ApplicationError(_("月份格式应为 YYYY-MM，例如 2026-10。")) from None
    return parsed


def today_local(now: datetime) -> date:
    return now.astimezone(CHINA).date()


@dataclass(frozen=True)
class Period:
    """A reporting period: whole days first..last (inclusive), China time.

    kind: "month" (read from stored MonthlyScore rows), "quarter" or "range" (summed
    from DailyTally rows).
    """

    kind: str
    first: date
    last: date

    @staticmethod
    def _known_year(*years: int) -> None:
        # The period before 0001-01 or after 9999-12 does not exist; nor any data outside these.
        if not all(MIN_YEAR <= y <= MAX_YEAR for y in years):
            raise ApplicationError(_("时间段须在 %(a)s 年至 %(b)s 年之间。") % {"a": MIN_YEAR, "b": MAX_YEAR})

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        cls._known_year(year)
        start = date(year, month, 1)
        return cls("month", start, month_end(start))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        if quarter not in (1, 2, 3, 4):
            raise ApplicationError(_("季度应为 1 至 4。"))
        cls._known_year(year)
        start = date(year, 3 * quarter - 2, 1)
        return cls("quarter", start, month_end(date(year, 3 * quarter, 1)))

    @classmethod
    def range(cls, first: date, last: date) -> "Period":
        cls._known_year(first.year, last.year)
        if last < first:
            raise ApplicationError(_("结束日期不能早于开始日期。"))
        if (last - first).days > 366:
            raise ApplicationError(_("自定义时间段不能超过一年。"))
        return cls("range", first, last)

    @classmethod
    def parse(cls, value: str) -> "Period":
        """ "2026-10", "2026Q4" or "2026-10-01..2026-10-15"."""
        value = (value or "").strip().upper()
        try:
            if ".." in value:
                a, b = value.split("..", 1)
                return cls.range(date.fromisoformat(a.strip()), date.fromisoformat(b.strip()))
            if "Q" in value:
                year, quarter = value.split("Q", 1)
                return cls.quarter(int(year), int(quarter))
            start = parse_month(value)
            return cls.month(start.year, start.month)
        except ValueError:
            raise ApplicationError(
                _("时间段格式应为 2026-10（月）、2026Q4（季度）或 2026-10-01..2026-10-15（自定义）。")
            ) from None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Period":
        """The period just before, of the same kind (a range: the same number of days)."""
        if self.kind == "month":
            start = previous_month(self.first)
            return Period("month", start, month_end(start))  # 2000-01 has a December before it
        if self.kind == "quarter":
            start = previous_month(previous_month(previous_month(self.first)))
            return Period("quarter", start, self.first - timedelta(days=1))
        return Period("range", self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}Q{(self.first.month + 2) // 3}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


# --- periods as the report pages ask for them and name them ----------------------------------


def period_from_params(params, *, now: datetime | None = None) -> Period:
    """``period`` = 2026-10 | 2026Q4 | 2026-10-01..2026-10-15, or ``from``+``to`` dates;
    default the last final month (``last_final_month``: not this month's provisional
    figures of a few days). Years outside MIN_YEAR..MAX_YEAR are refused (Period)."""
    first, last = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if first or last:
        try:
            return Period.range(date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            raise ApplicationError(_("请填写开始和结束日期（YYYY-MM-DD）。")) from None
    value = (params.get("period") or "").strip()
    if value:
        return Period.parse(value)
    month = last_final_month(now or timezone.now())
    return Period.month(month.year, month.month)


def period_choices(*, now: datetime | None = None) -> list[tuple[str, str]]:
    """The last 12 months (those not final yet marked 临时) and the last 4 quarters, newest first."""
    now = now or timezone.now()
    month = month_start(today_local(now))
    choices = []
    for _i in range(12):
        label = _("%(y)s年%(m)s月") % {"y": month.year, "m": month.month}
        if not is_final(month, now):
            label = _("%(label)s（临时）") % {"label": label}
        choices.append((f"{month:%Y-%m}", label))
        month = previous_month(month)
    today = today_local(now or timezone.now())
    year, quarter = today.year, (today.month + 2) // 3
    for _i in range(4):
        choices.append((f"{year}Q{quarter}", _("%(y)s年第%(q)s季度") % {"y": year, "q": quarter}))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return choices


def period_label(period: Period) -> str:
    if period.kind == "month":
        return _("%(y)s年%(m)s月") % {"y": period.first.year, "m": period.first.month}
    if period.kind == "quarter":
        return _("%(y)s年第%(q)s季度") % {"y": period.first.year, "q": (period.first.month + 2) // 3}
    return f"{period.first.isoformat()} — {period.last.isoformat()}"


def period_query(period: Period) -> str:
    if period.kind == "range":
        return urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})
    return urlencode({"period": period.label})
