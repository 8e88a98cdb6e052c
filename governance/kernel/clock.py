"""China time (DESIGN.md §7: times are stored in UTC and shown in Asia/Shanghai), named once."""

from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
