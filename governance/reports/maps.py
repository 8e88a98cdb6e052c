"""The supervisors' map (issue 21): units coloured by any measure of the report tables
for any period (a choropleth that drills down district → street → community → grid, a
click opening the unit's report page), and a density layer of appeals by category and
period. Scoped like the tables: the units inside the viewer's jurisdiction.

The values come from the same scores as the tables (governance.assessment.selectors),
kept in the shared cache under the scores' token; the outlines from grids.maps, kept
under the boundaries' token.
"""

import hashlib
import json
from datetime import timedelta

from django.db import connection
from django.db.models import Count
from django.utils.translation import gettext as _

from appeals.selectors import appeal_scope
from governance.assessment.enums import MEASURE_BY_KEY, UnitKind
from governance.assessment.periods import Period, local_midnight, period_label
from governance.assessment.selectors import scores_for, scores_token
from governance.kernel import shared_cache
from governance.kernel.errors import ApplicationError, NotFound
from governance.reports import units
from governance.staff.selectors import Jurisdiction
from grids import geo, maps
from grids.boundaries import LEVELS, boundaries_token
from grids.models import LEVEL_BY_LENGTH, Building, Grid

VALUES_CACHE_SECONDS = 6 * 3600  # the scores' token decides; this bounds the space
ANSWER_CACHE_SECONDS = 3600  # a whole choropleth answer: both tokens decide; boxes vary, so shorter
DENSITY_CACHE_SECONDS = 600
DENSITY_PIXELS = 24
BUILDING_DENSITY_ZOOM = 15  # from here on, appeals are counted by building, not by grid


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _scope_key(jurisdiction: Jurisdiction):
    return (jurisdiction.everything, sorted(jurisdiction.prefixes), sorted(jurisdiction.department_ids))


def measure_values(*, jurisdiction: Jurisdiction, period: Period, level: str, parent: str | None) -> dict[str, dict]:
    """{code: {measure key: value}} of the units of ``level`` (under ``parent``) in the
    viewer's jurisdiction for ``period``: the report tables' figures (scores_for), as
    floats, kept until the scores are computed again."""
    token = scores_token()
    key = None
    if token is not None:
        key = "reports:map-values:" + _digest(token, connection.settings_dict["NAME"], period.label, level, parent,
                                              _scope_key(jurisdiction))
        found = shared_cache.get(key, what="reports")
        if found is not None:
            return found
    table = scores_for(jurisdiction=jurisdiction, period=period, level=level, parent_code=parent)
    values = {
        row.unit_code: {m: (float(v) if (v := getattr(row, m)) is not None else None) for m in MEASURE_BY_KEY}
        for row in table.rows
    }
    if key is not None:
        shared_cache.put(key, values, VALUES_CACHE_SECONDS, what="reports")
    return values


def top_level(levels: list[str]) -> str:
    """The highest territorial level the viewer's tables offer: where the map starts."""
    territorial = [level for level in levels if level in LEVELS]
    if not territorial:
        raise NotFound()
    return territorial[0]


def choropleth(*, jurisdiction: Jurisdiction, levels: list[str], period: Period, level: str, measure: str,
               parent: str | None, box: geo.Box, zoom: int) -> str:
    """The units as a GeoJSON FeatureCollection (text) coloured by ``measure``.

    ``parent`` (a unit's code): its children — the drill-down; the level is then the one
    below the parent's. Each feature: code, name, level, label, ``value`` (None: no
    appeals in the measure's denominator), ``goodness`` (0 worst – 100 best, a
    lower-is-better measure turned round: the colour), ``url`` (the unit's report page)
    and ``drill`` (a level below exists). Foreign members say the measure, the period
    and the level.
    """
    if measure not in MEASURE_BY_KEY:
        raise ApplicationError(_("未知的指标“%(m)s”。") % {"m": measure[:30]})
    if parent:
        if not parent.isdigit() or len(parent) not in LEVEL_BY_LENGTH or LEVEL_BY_LENGTH[len(parent)] == "grid":
            raise ApplicationError(_("parent 须为区、街道或社区的编码。"))
        if not jurisdiction.covers(parent):
            raise NotFound()
        level = LEVELS[LEVELS.index(LEVEL_BY_LENGTH[len(parent)]) + 1]
    if level not in levels or level not in LEVELS:
        raise NotFound()
    # The whole answer is kept under both tokens (the scores' and the boundaries'): at
    # tier M the city's 3,000 communities take ~100 ms to assemble, and a supervisor's
    # view of the city asks for the same box again and again.
    scores, shapes = scores_token(), boundaries_token()
    key = None
    if scores is not None and shapes is not None:
        key = "reports:map-answer:" + _digest(scores, shapes, connection.settings_dict["NAME"], period.label, level,
                                              measure, parent, box, zoom, _scope_key(jurisdiction))
        found = shared_cache.get(key, what="reports")
        if found is not None:
            return found
    text = _choropleth_text(jurisdiction=jurisdiction, period=period, level=level, measure=measure, parent=parent,
                            box=box, zoom=zoom)
    if key is not None:
        shared_cache.put(key, text, ANSWER_CACHE_SECONDS, what="reports")
    return text


def _choropleth_text(*, jurisdiction: Jurisdiction, period: Period, level: str, measure: str, parent: str | None,
                     box: geo.Box, zoom: int) -> str:
    spec = MEASURE_BY_KEY[measure]
    values = measure_values(jurisdiction=jurisdiction, period=period, level=level, parent=parent)
    head = units.unit_url(level, "0", period)
    path, query = head.split("?", 1)
    path = path.removesuffix("0/")
    drill = level != "grid"
    properties = {}
    for code, row in values.items():
        value = row.get(measure)
        properties[code] = {
            "value": round(value, 1) if value is not None else None,
            "goodness": round(spec.goodness(value), 1) if value is not None else None,
            "url": f"{path}{code}/?{query}", "drill": drill,
        }
    text = maps.boundary_collection(jurisdiction=jurisdiction, level=level, box=box, zoom=zoom, parent=parent,
                                    values=properties)
    meta = {"level": level, "level_label": str(UnitKind(level).label), "measure": measure,
            "measure_label": str(spec.label), "lower_is_better": spec.lower_is_better,
            "period": period.label, "period_label": period_label(period), "parent": parent}
    return text[:-1] + "," + json.dumps(meta, ensure_ascii=False, separators=(",", ":"))[1:]


def _counts_by_grid(jurisdiction: Jurisdiction, period: Period, category: int | None) -> dict[str, int]:
    """Appeals received in the period by their grid (appeal.grid_code, no join), kept for
    DENSITY_CACHE_SECONDS."""
    key = "reports:density:" + _digest(connection.settings_dict["NAME"], period.label, category,
                                       _scope_key(jurisdiction))
    found = shared_cache.get(key, what="reports")
    if found is not None:
        return found
    start, end = local_midnight(period.first), local_midnight(period.last + timedelta(days=1))
    qs = appeal_scope(jurisdiction).filter(created_at__gte=start, created_at__lt=end, grid__isnull=False)
    if category:
        qs = qs.filter(category_id=category)
    counts = dict(qs.order_by().values_list("grid_id").annotate(n=Count("pk")).values_list("grid_id", "n"))
    shared_cache.put(key, counts, DENSITY_CACHE_SECONDS, what="reports")
    return counts


def density(*, jurisdiction: Jurisdiction, period: Period, category: int | None, box: geo.Box, zoom: int) -> dict:
    """Where the appeals of the period (of one category, or all) were raised: {"cells":
    [{lat, lon, n}]} grouped in cells of DENSITY_PIXELS at ``zoom``. Far out they are
    counted by grid (placed at the middle of the grid's box); from BUILDING_DENSITY_ZOOM
    on, by building. Counts only: no appeal, no person."""
    points: list[tuple[float, float, int]] = []
    if zoom >= BUILDING_DENSITY_ZOOM:
        start, end = local_midnight(period.first), local_midnight(period.last + timedelta(days=1))
        buildings = Building.objects.filter(latitude__gte=box.min_lat, latitude__lte=box.max_lat,
                                            longitude__gte=box.min_lon, longitude__lte=box.max_lon)
        qs = appeal_scope(jurisdiction).filter(created_at__gte=start, created_at__lt=end,
                                               building__in=buildings.values("pk"))
        if category:
            qs = qs.filter(category_id=category)
        rows = qs.order_by().values("building__latitude", "building__longitude").annotate(n=Count("pk"))
        points = [(float(r["building__latitude"]), float(r["building__longitude"]), r["n"]) for r in rows]
    else:
        counts = _counts_by_grid(jurisdiction, period, category)
        grids = maps.in_box(Grid.objects.filter(code__in=list(counts)) if len(counts) < 2000 else
                            Grid.objects.filter(min_lat__isnull=False), box)
        for code, s, w, n, e in grids.values_list("code", "min_lat", "min_lon", "max_lat", "max_lon"):
            if code in counts:
                points.append(((s + n) / 2, (w + e) / 2, counts[code]))
    cell = geo.pixel_degrees(zoom) * DENSITY_PIXELS
    cells: dict[tuple[int, int], list] = {}
    for lat, lon, n in points:
        if not (box.min_lat <= lat <= box.max_lat and box.min_lon <= lon <= box.max_lon):
            continue
        key = (int(lat // cell), int(lon // cell))
        acc = cells.setdefault(key, [0.0, 0.0, 0])
        acc[0] += lat * n
        acc[1] += lon * n
        acc[2] += n
    return {"cells": [{"lat": round(a / c, 6), "lon": round(b / c, 6), "n": c} for a, b, c in cells.values()],
            "period": period.label, "period_label": period_label(period)}
