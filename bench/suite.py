"""One benchmark run against a seeded database and a server on ``base_url``: the
shared part of ``bench/run.py`` (gunicorn) and the smoke test (Django's live server)."""

import os
import platform
import time
from datetime import date
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from bench import measure
from bench.seed import bench_units

# Issue 8's targets at tier M: (result key, field, limit, "max" or "min").
TARGETS = [
    ("queue_page", "p95_ms", 100, "max"),
    ("appeal_page", "p95_ms", None, "max"),
    ("supervisor_queue", "p95_ms", None, "max"),  # not one of the issue's: measured so that it shows
    ("report_page", "p95_ms", 150, "max"),
    ("api_list", "p95_ms", 100, "max"),
    ("intake", "per_second", 100, "min"),
    ("intake", "errors", 0, "max"),
    ("escalation", "seconds", 30, "max"),
    ("scoring", "seconds", 60, "max"),
    # Issue 21's: a street's open appeals on the map, the city's community choropleth and its payload.
    ("map_street_queue", "p95_ms", 150, "max"),
    ("map_city_choropleth", "p95_ms", 150, "max"),
    ("map_city_choropleth", "gzip_bytes", 1_000_000, "max"),
    # Issue 23's: the city-wide 督办 CSV streamed inline, the XLSX written by its job.
    ("export_csv", "first_byte_ms", 1000, "max"),
    ("export_csv", "rows_per_second", 50_000, "min"),
    ("export_csv", "rss_peak_mb", 100, "max"),
    ("export_xlsx_job", "rows_per_second", 10_000, "min"),
    # Issue 23's deep pages: page 10,000 of the API list and of the supervisor's queue, by cursor.
    ("api_deep_page", "p95_ms", 150, "max"),
    ("supervisor_deep_page", "p95_ms", 150, "max"),
    # Issue 23's: the drill-downs, hot spots and the grid-level quarter report read rollups.
    ("unit_city", "p95_ms", 150, "max"),
    ("unit_street", "p95_ms", 150, "max"),
    ("unit_community", "p95_ms", 150, "max"),
    ("hotspots_month", "p95_ms", 150, "max"),
    ("hotspots_quarter", "p95_ms", 150, "max"),
    ("hotspots_year", "p95_ms", 150, "max"),
    ("grid_quarter_report", "p95_ms", 150, "max"),
]
ROLLUP_PAGES = ("unit_city", "unit_street", "unit_community", "hotspots_month", "hotspots_quarter", "hotspots_year",
                "grid_quarter_report")
# Issue 24's "every page": the staff's other pages, measured so that none escapes the tiers' table.
OTHER_PAGES = ("home_worker", "home_supervisor", "supervision_page", "staffing_page", "visits_report",
               "suggestions_report", "visits_list", "meetings_list")
PAGES = ("queue_page", "appeal_page", "supervisor_queue", "report_page", "api_list", "map_street_queue",
         "map_city_choropleth", "api_deep_page", "supervisor_deep_page", *ROLLUP_PAGES, *OTHER_PAGES)
# Issue 24's targets at tier L, and its growth limit over M for every page.
L_TARGETS = [
    *[(key, "p95_ms", 150, "max") for key in PAGES],
    ("export_csv", "first_byte_ms", 1000, "max"),
    ("escalation", "seconds", 30, "max"),
    ("scoring", "seconds", 300, "max"),
    ("intake", "per_second", 150, "min"),
    ("intake", "errors", 0, "max"),
]
L_OVER_M = 1.3
# How deep the deep pages are: the page 10,000 (at 50 rows a page for the API, 30
# for the queue), reached as a client following ``next`` would, by its keyset cursor.
DEEP_PAGE = 10_000
MAP_MEASURES = ("map_street_queue", "map_city_choropleth")


def machine() -> dict:
    """What the figures were measured on: runs on different machines do not compare."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        cpu = platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory / 2**30, 1),
            "python_loop_ms": python_loop_ms()}


def python_loop_ms() -> float:
    """A fixed piece of pure-Python work (best of 5, ms): the speed of one core, so
    that a run on another machine, or on a busy one, shows as such."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def last_full_month(today: date) -> date:
    first = today.replace(day=1)
    return (first.replace(year=first.year - 1, month=12) if first.month == 1
            else first.replace(month=first.month - 1))


def _bbox(qs) -> str:
    """W,S,E,N of the units' boxes (the map endpoints' bbox)."""
    from django.db.models import Max, Min

    b = qs.aggregate(s=Min("min_lat"), w=Min("min_lon"), n=Max("max_lat"), e=Max("max_lon"))
    return ",".join(f"{v:.6f}" for v in (b["w"], b["s"], b["e"], b["n"]))


def map_paths(month: date) -> dict[str, list[str]]:
    """The map endpoints measured (issue 21): the street officer's open appeals over their
    street (zoom 14), and the city's communities coloured by 综合得分 for the month (zoom 11)."""
    from grids.models import Street

    units = bench_units()
    street_box = _bbox(Street.objects.filter(code=units["street"].code))
    city_box = _bbox(Street.objects.all())
    return {
        "map_street_queue": [f"/appeals/map/data/?bbox={street_box}&zoom=14"],
        "map_city_choropleth": [f"/reports/map/data/?bbox={city_box}&zoom=11&level=community&measure=composite"
                                f"&period={month:%Y-%m}"],
    }


def rollup_paths(month: date) -> dict[str, list[str]]:
    """Issue 23's paths, as the city supervisor: the city's, a street's and a community's
    unit pages for ``month``; the city's hot spots over the month, its quarter and the 12
    months up to it; the grid-level report of the quarter (30,000 grids at M)."""
    from governance.assessment.periods import Period, month_end

    units = bench_units()
    quarter = f"{month.year}Q{(month.month - 1) // 3 + 1}"
    back = month.year * 12 + month.month - 1 - 11  # 11 months before, in months since year 0
    year = Period.range(date(back // 12, back % 12 + 1, 1), month_end(month))
    return {
        "unit_city": [f"/reports/unit/city/{units['street'].code[:4]}00/?period={month:%Y-%m}"],
        "unit_street": [f"/reports/unit/street/{units['street'].code}/?period={month:%Y-%m}"],
        "unit_community": [f"/reports/unit/community/{units['community'].code}/?period={month:%Y-%m}"],
        "hotspots_month": [f"/reports/hotspots/?period={month:%Y-%m}"],
        "hotspots_quarter": [f"/reports/hotspots/?period={quarter}"],
        "hotspots_year": [f"/reports/hotspots/?from={year.first}&to={year.last}"],
        "grid_quarter_report": [f"/reports/?level=grid&period={quarter}"],
    }


def run_suite(base_url: str, *, tier: str, requests: int = 200, concurrency: int = 2, intake_requests: int = 500, intake_warmup: int = 32,
              intake_concurrency: int = 8, escalate_due: int | None = 100_000, settings_note: dict | None = None,
              machine_note: dict | None = None, only: tuple[str, ...] | None = None,
              server_pid: int | None = None, deep_page: int = DEEP_PAGE, inline_unit: str = "") -> dict:
    """Every measurement, in an order that keeps them independent: the scoring first
    (the report page reads its scores), the pages and the API, the maps, the intake, and
    the exports, the escalation last (it restores what it changed). ``only``: these
    measurements (and the scoring, which the report pages read); ``server_pid``: gunicorn's
    master, whose workers' memory the CSV export watches; ``deep_page``: how deep the deep
    pages are (a tiny tier has no page 10,000); ``inline_unit``: whose 督办 list the inline CSV
    is measured on when the city's is a job's (default: the bench street's district). Returns
    the JSON-able result."""
    from appeals.enums import OPEN_STATES
    from appeals.models import Appeal, Category
    from governance.kernel.api.tokens import token_rotate
    from grids.models import Building

    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="bench_")}
    units = bench_units()
    now = timezone.now()
    month = last_full_month(timezone.localdate(now))
    result: dict = {"tier": tier, "base_url": base_url, "measured_at": now.isoformat(),
                    "database": connection.vendor, "python": platform.python_version(),
                    "counts": {"appeals": Appeal.objects.count(), "open_appeals": Appeal.objects.filter(
                        state__in=OPEN_STATES).count(), "buildings": Building.objects.count()},
                    "settings": settings_note or {}, "machine": machine_note or machine(),
                    # The machine is shared: the load before and after says how quiet it was.
                    "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    if connection.vendor == "postgresql":
        # An earlier run's intake and escalation left dead row versions that would slow
        # this run's scans until autovacuum came by.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) appeals_appeal")
            # A seed or copy just before leaves gigabytes of dirty buffers whose spread
            # checkpoint would write during the timed requests: the first intake runs after
            # seeding S measured 87–97/s, later runs of the same code 131–146/s.
            cursor.execute("CHECKPOINT")
    result["scoring"] = measure.scoring_time(month=month, now=now)
    try:
        from governance.assessment.models import FlowRefresh
    except ImportError:  # the code before issue 23 (the "before" figures): no flows
        FlowRefresh = None
    if FlowRefresh is not None:
        # The daily flows the issue-23 pages read: backfilled once (the first run after
        # migrating, timed), then the beat's refresh of today, timed each run.
        result["flows"] = measure.flows_time(now=now, backfill=not FlowRefresh.objects.exists())

    def wanted(key: str) -> bool:
        return only is None or key in only

    community_cookie = {"Cookie": measure.session_cookie(users["bench_community"])}
    supervisor_cookie = {"Cookie": measure.session_cookie(users["bench_supervisor"])}
    # A token minted for this run (tokens expire; an earlier run's may have).
    token = {"Authorization": f"Token {token_rotate(user=users['bench_supervisor']).key}",
             "Accept": "application/json"}
    community = units["community"].code
    # Appeals of the worker's community, open and closed, so that no single cached row is timed.
    codes = list(Appeal.objects.filter(territory_code__startswith=community).order_by("-id")
                 .values_list("tracking_code", flat=True)[:20])
    kw = {"requests": requests, "concurrency": concurrency}
    if wanted("queue_page"):
        result["queue_page"] = measure.latencies(base_url, ["/appeals/"], headers=community_cookie, **kw)
    if wanted("appeal_page"):
        result["appeal_page"] = measure.latencies(base_url, [f"/appeals/{c}/" for c in codes],
                                                  headers=community_cookie, **kw)
    if wanted("supervisor_queue"):
        # The city supervisor's queue: the whole city's appeals, browsed read-only.
        result["supervisor_queue"] = measure.latencies(base_url, ["/appeals/"], headers=supervisor_cookie, **kw)
    if wanted("report_page"):
        result["report_page"] = measure.latencies(
            base_url, [f"/reports/?level=community&period={month:%Y-%m}", f"/reports/?level=street&period={month:%Y-%m}"],
            headers=supervisor_cookie, **kw)
    if wanted("api_list"):
        result["api_list"] = measure.latencies(
            base_url, [f"/api/v1/appeals/?state=in_progress&community={community}",
                       f"/api/v1/appeals/?state=closed&community={community}"], headers=token, **kw)
    if wanted("api_deep_page") or wanted("supervisor_deep_page"):
        from django.conf import settings

        from appeals.selectors import APPEAL_SORTS, BROWSE_SORT, appeal_browse, appeal_scope
        from governance.staff.selectors import jurisdiction_for

        supervisor = jurisdiction_for(users["bench_supervisor"])
        sort = APPEAL_SORTS[BROWSE_SORT]
    def deep(qs, size: int) -> tuple[list[str], int]:
        """Cursors of page ``deep_page`` on, or of the last pages of a list shorter than that (tier S)."""
        cursors = measure.deep_cursors(qs, sort, size=size, page=deep_page)
        if cursors:
            return cursors, deep_page
        page = max(2, qs.count() // size - 19)
        return measure.deep_cursors(qs, sort, size=size, page=page), page

    if wanted("api_deep_page"):
        cursors, page = deep(appeal_scope(supervisor), 50)
        result["api_deep_page"] = measure.latencies(
            base_url, [f"/api/v1/appeals/?cursor={quote(c)}" for c in cursors], headers=token, **kw)
        result["api_deep_page"]["rows_deep"] = (page - 1) * 50
    if wanted("supervisor_deep_page"):
        cursors, page = deep(appeal_browse(jurisdiction=supervisor), settings.PAGE_SIZE)
        result["supervisor_deep_page"] = measure.latencies(
            base_url, [f"/appeals/?cursor={quote(c)}" for c in cursors], headers=supervisor_cookie, **kw)
        result["supervisor_deep_page"]["rows_deep"] = (page - 1) * settings.PAGE_SIZE
    paths = map_paths(month)
    street_cookie = {"Cookie": measure.session_cookie(users["bench_street"]), "Accept-Encoding": "gzip"}
    gzip_supervisor = {**supervisor_cookie, "Accept-Encoding": "gzip"}
    if wanted("map_street_queue"):
        result["map_street_queue"] = measure.latencies(base_url, paths["map_street_queue"], headers=street_cookie, **kw)
        result["map_street_queue"].update(measure.payload(base_url, paths["map_street_queue"][0], headers=street_cookie))
    if wanted("map_city_choropleth"):
        result["map_city_choropleth"] = measure.latencies(base_url, paths["map_city_choropleth"],
                                                          headers=gzip_supervisor, **kw)
        result["map_city_choropleth"].update(
            measure.payload(base_url, paths["map_city_choropleth"][0], headers=gzip_supervisor))
    rollups = rollup_paths(month)
    if any(wanted(key) for key in ("hotspots_month", "hotspots_quarter", "hotspots_year")):
        # Above HOTSPOT_INLINE_MAX_APPEALS a period's repeated buildings and households are
        # grouped by a Celery task (this run has no worker): timed here as the task groups
        # them, into the cache the pages then read.
        result["hotspot_repeats"] = measure.hotspot_repeats_time(
            users["bench_supervisor"], [rollups[k][0] for k in ("hotspots_month", "hotspots_quarter", "hotspots_year")])
    for key, urls in rollups.items():
        if wanted(key):
            result[key] = measure.latencies(base_url, urls, headers=supervisor_cookie, **kw)
    grid_cookie = {"Cookie": measure.session_cookie(users["bench_grid"])}
    supervision_cursors = []
    if wanted("supervision_page"):
        from governance.reports import tables
        from governance.reports.supervision import SUPERVISION_SORT, SupervisionFilters, supervision_queryset
        from governance.staff.selectors import jurisdiction_for

        listed = supervision_queryset(jurisdiction=jurisdiction_for(users["bench_supervisor"]),
                                      filters=SupervisionFilters(), now=timezone.now())
        supervision_cursors = [f"/reports/supervision/?cursor={quote(c)}" for c in measure.deep_cursors(
            listed, SUPERVISION_SORT, size=tables.PAGE_SIZE, page=min(deep_page, 50), pages=10)]
    for key, (urls, headers) in {
        "home_worker": (["/"], grid_cookie),
        "home_supervisor": (["/"], supervisor_cookie),
        # The city's 督办 list: its first page and pages 50 to 59, by their keyset cursors.
        "supervision_page": (["/reports/supervision/", *supervision_cursors], supervisor_cookie),
        "staffing_page": (["/reports/staffing/"], supervisor_cookie),
        "visits_report": ([f"/reports/visits/?period={month:%Y-%m}"], supervisor_cookie),
        "suggestions_report": (["/reports/suggestions/"], supervisor_cookie),
        "visits_list": (["/visits/"], grid_cookie),
        "meetings_list": (["/deliberation/"], community_cookie),
    }.items():
        if wanted(key):
            result[key] = measure.latencies(base_url, urls, headers=headers, **kw)
    if wanted("intake"):
        buildings = list(Building.objects.order_by("?").values_list("code", flat=True)[:200])
        categories = list(Category.objects.filter(active=True).values_list("code", flat=True))
        result["intake"] = measure.intake_throughput(base_url, buildings=buildings, categories=categories,
                                                     requests=intake_requests, concurrency=intake_concurrency,
                                                     warmup=intake_warmup)
    if only and "reports_under_intake" in only:
        # Issue 25: the report pages while the intake writes, on whichever database the server
        # reads them from (DATABASE_REPLICA_URL or not). Only when asked: it writes appeals.
        buildings = list(Building.objects.order_by("?").values_list("code", flat=True)[:200])
        categories = list(Category.objects.filter(active=True).values_list("code", flat=True))
        result["reports_under_intake"] = measure.latencies_under_intake(
            base_url, [f"/reports/?level=community&period={month:%Y-%m}", f"/reports/?level=street&period={month:%Y-%m}",
                       "/reports/supervision/", f"/reports/hotspots/?period={month:%Y-%m}"],
            headers=supervisor_cookie, buildings=buildings, categories=categories, **kw)
    if wanted("export_csv"):
        # The city supervisor's whole 督办 list (every overdue appeal), streamed inline.
        result["export_csv"] = measure.export_stream(base_url, "/reports/supervision/?export=csv",
                                                     headers=supervisor_cookie, server_pid=server_pid,
                                                     warm_path="/reports/supervision/")
        if result["export_csv"]["status"] == 302:
            # Above EXPORT_INLINE_MAX_ROWS (tier L: about a million overdue appeals) the list is
            # a job's: its request and writing are timed as the XLSX's are, and the inline
            # stream is measured on a district's list (about 60,000 rows at L).
            result["export_csv_job"] = measure.export_job(base_url, "/reports/supervision/?export=csv",
                                                          headers=supervisor_cookie)
            unit = inline_unit or units["street"].district_id
            result["export_csv"] = measure.export_stream(
                base_url, f"/reports/supervision/?export=csv&unit={unit}",
                headers=supervisor_cookie, server_pid=server_pid, warm_path="/reports/supervision/")
            result["export_csv"]["list"] = f"unit {unit}"
    if wanted("export_xlsx_job"):
        # The same list as XLSX: above EXPORT_XLSX_INLINE_MAX_ROWS at M, so a job writes it.
        result["export_xlsx_job"] = measure.export_job(base_url, "/reports/supervision/?export=xlsx",
                                                       headers=supervisor_cookie)
    if wanted("escalation"):
        result["escalation"] = measure.escalation_time(due=escalate_due, now=timezone.now())
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def check_targets(result: dict, baseline: dict | None = None) -> list[dict]:
    """Issue 8's targets against a result (meant for tier M); with the S result as
    ``baseline``, also M ≤ 1.5 × S for pages slower than 50 ms at S."""
    rows = []
    for key, field, limit, kind in TARGETS:
        if limit is None or key not in result:
            continue
        value = result[key].get(field)
        ok = value is not None and (value <= limit if kind == "max" else value >= limit)
        rows.append({"what": f"{key}.{field}", "value": value, "target": f"{'≤' if kind == 'max' else '≥'} {limit}",
                     "met": ok})
    if baseline:
        for key in PAGES:
            s, m = baseline.get(key, {}).get("p95_ms"), result.get(key, {}).get("p95_ms")
            if s and m and s > 50:
                rows.append({"what": f"{key}.p95 M/S", "value": round(m / s, 2), "target": "≤ 1.5", "met": m <= 1.5 * s})
    return rows


def check_targets_l(result: dict, medium: dict | None = None) -> list[dict]:
    """Issue 24's targets against the tier-L result; with the M result, L ≤ 1.3 × M for every page."""
    rows = []
    for key, field, limit, kind in L_TARGETS:
        value = result.get(key, {}).get(field)
        if value is None:
            continue
        rows.append({"what": f"{key}.{field}", "value": value, "target": f"{'≤' if kind == 'max' else '≥'} {limit}",
                     "met": value <= limit if kind == "max" else value >= limit})
    for key in PAGES if medium else ():
        m, l_ = medium.get(key, {}).get("p95_ms"), result.get(key, {}).get("p95_ms")
        if m and l_:
            rows.append({"what": f"{key}.p95 L/M", "value": round(l_ / m, 2), "target": f"≤ {L_OVER_M}",
                         "met": l_ <= L_OVER_M * m})
    return rows


def table(results: list[dict]) -> str:
    """The printed table: one column per tier."""
    lines = [("measure", *[r["tier"] for r in results])]
    for key in PAGES:
        for field in ("p50_ms", "p95_ms"):
            lines.append((f"{key} {field}", *[str(r.get(key, {}).get(field, "")) for r in results]))
        lines.append((f"{key} errors", *[str(r.get(key, {}).get("errors", "")) for r in results]))
    lines += [
        ("map_street_queue features", *[str(r.get("map_street_queue", {}).get("items", "")) for r in results]),
        ("map_city_choropleth gzip_bytes", *[str(r.get("map_city_choropleth", {}).get("gzip_bytes", ""))
                                             for r in results]),
        ("intake per_second", *[str(r.get("intake", {}).get("per_second", "")) for r in results]),
        *[(f"export_csv {f}", *[str(r.get("export_csv", {}).get(f, "")) for r in results])
          for f in ("rows", "first_byte_ms", "first_row_ms", "seconds", "rows_per_second", "rows_per_cpu_second",
                    "rss_before_mb", "rss_peak_mb", "rss_growth_mb")],
        *[(f"{job} {f}", *[str(r.get(job, {}).get(f, "")) for r in results])
          for job in ("export_xlsx_job", "export_csv_job")
          for f in ("rows", "request_ms", "seconds", "rows_per_second", "rows_per_cpu_second")],
        ("intake errors", *[f"{r['intake']['errors']}/{r['intake']['requests']}" if "intake" in r else ""
                            for r in results]),
        ("escalation due", *[str(r.get("escalation", {}).get("due", "")) for r in results]),
        ("escalation seconds", *[str(r.get("escalation", {}).get("seconds", "")) for r in results]),
        ("scoring month", *[r["scoring"]["month"] for r in results]),
        ("scoring appeals", *[str(r["scoring"]["appeals"]) for r in results]),
        ("scoring seconds", *[str(r["scoring"]["seconds"]) for r in results]),
        *[(f"hotspot repeats {name} seconds", *[str(r.get("hotspot_repeats", {}).get(name, {}).get("seconds", ""))
                                                   for r in results]) for name in ("month", "quarter", "year")],
        ("flows backfill seconds", *[str(r.get("flows", {}).get("backfill_seconds", "")) for r in results]),
        ("flows refresh seconds", *[str(r.get("flows", {}).get("refresh_seconds", "")) for r in results]),
        ("machine python_loop_ms", *[str(r.get("machine", {}).get("python_loop_ms", "")) for r in results]),
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)
