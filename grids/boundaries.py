"""Boundaries of the units: import from GeoJSON, export, generation for the demo and the
benchmark, and the token that says they changed (issue 21).

Import (``boundaries_import``; ``manage.py import_boundaries`` and the admin upload): a
FeatureCollection whose features carry ``properties.code`` (the unit's code; its length
gives the level, ``properties.level`` if present must agree). A file with any error
imports nothing; the report names each bad feature (its number and code) and why:
- the geometry is a valid Polygon or MultiPolygon in WGS-84 longitude/latitude;
- the code exists (and appears once in the file);
- a child lies inside its parent (the parent's boundary from the file, else the stored
  one; no parent boundary yet: not checked), and the stored children of a unit in the
  file lie inside its new boundary;
- siblings (same level, same parent) do not overlap.
Distances are in metres in a local projection (grids.geo.LocalProjection), with the
tolerance BOUNDARY_TOLERANCE_M: a child may stick out of its parent, and two siblings
overlap, by less than that (slivers of digitising), not more.

Export (``boundaries_export``; ``manage.py export_boundaries``) writes what is stored, so
that importing it again stores the same text.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field

import shapely
from django.conf import settings
from django.db import transaction

from governance.kernel import shared_cache
from grids import geo
from grids.models import LEVEL_BY_LENGTH, UNIT_MODELS, Building

BOUNDARIES_TOKEN_KEY = "grids:boundaries-token"
LEVELS = ("district", "street", "community", "grid")
LEVEL_NAMES = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}


def boundaries_token() -> str | None:
    """Changes whenever boundaries are imported or generated (after the commit); what is
    cached from them (simplified geometry for the maps) is keyed by it. None: no cache."""
    return shared_cache.token(BOUNDARIES_TOKEN_KEY, what="boundaries")


def _renew_token() -> None:
    transaction.on_commit(lambda: shared_cache.renew(BOUNDARIES_TOKEN_KEY), robust=True)


def parent_code(code: str) -> str | None:
    return None if len(code) <= 6 else code[:len(code) - 3]


# --- import ---------------------------------------------------------------------------------


@dataclass
class FeatureError:
    number: int  # 1-based position in the file; 0: the file itself
    code: str
    message: str

    def __str__(self) -> str:
        if not self.number:
            return self.message
        code = f"（{self.code}）" if self.code else ""
        return f"第 {self.number} 个要素{code}：{self.message}"


@dataclass
class ImportReport:
    errors: list[FeatureError] = field(default_factory=list)
    imported: dict[str, int] = field(default_factory=dict)  # level → units written

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return f"文件有 {len(self.errors)} 处错误，未导入任何边界。"
        parts = [f"{LEVEL_NAMES[level]} {n} 个" for level, n in self.imported.items() if n]
        return "已导入边界：" + ("，".join(parts) if parts else "无")


@dataclass
class _Feature:
    number: int
    code: str
    level: str
    geometry: dict
    shape: object


def _read_features(data, report: ImportReport) -> list[dict]:
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.errors.append(FeatureError(0, "", f"不是有效的 GeoJSON（JSON 解析失败：{exc}）。"))
            return []
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        report.errors.append(FeatureError(0, "", "文件须为 GeoJSON FeatureCollection（含 features 数组）。"))
        return []
    if not data["features"]:
        report.errors.append(FeatureError(0, "", "文件中没有要素。"))
    return data["features"]


def _parse(features: list, report: ImportReport) -> list[_Feature]:
    parsed, seen = [], {}
    for number, feature in enumerate(features, start=1):
        def bad(message: str, code: str = "", number=number) -> None:
            report.errors.append(FeatureError(number, code, message))

        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            bad("不是 GeoJSON Feature。")
            continue
        properties = feature.get("properties") or {}
        code = properties.get("code")
        code = str(code).strip() if isinstance(code, (str, int)) and not isinstance(code, bool) else ""
        if not code:
            bad("缺少 properties.code（单位编码）。")
            continue
        level = LEVEL_BY_LENGTH.get(len(code)) if code.isdigit() else None
        if level is None:
            bad("编码须为 6、9、12 或 15 位数字（区、街道、社区、网格）。", code)
            continue
        given_level = properties.get("level")
        if given_level not in (None, "", level):
            bad(f"level“{given_level}”与编码位数不符（{len(code)} 位为{LEVEL_NAMES[level]}，即 {level}）。", code)
            continue
        if code in seen:
            bad(f"编码与第 {seen[code]} 个要素重复。", code)
            continue
        seen[code] = number
        try:
            shape = geo.parse_boundary(feature.get("geometry"))
        except geo.GeometryError as exc:
            bad(f"{exc}。", code)
            continue
        parsed.append(_Feature(number, code, level, feature["geometry"], shape))
    return parsed


def _stored(level: str, codes) -> dict[str, object]:
    """The stored boundaries of these units of ``level`` (code → shape)."""
    rows = list(UNIT_MODELS[level].objects.filter(code__in=list(codes), boundary__isnull=False)
                .values_list("code", "boundary"))
    return dict(zip([c for c, _b in rows], geo.load_many([b for _c, b in rows]), strict=True))


def _excess_m(child, parent, tolerance_m: float) -> float:
    """How far (metres) ``child`` sticks out of ``parent`` beyond the tolerance; 0 if not."""
    projection = geo.LocalProjection.around(child)
    child_m, parent_m = projection.to_metres(child), projection.to_metres(parent)
    outside = child_m.difference(parent_m.buffer(tolerance_m))
    if outside.is_empty or outside.area < 1e-6:
        return 0.0
    points = shapely.points(shapely.get_coordinates(child_m.difference(parent_m)))
    return float(shapely.distance(parent_m, points).max())


def _overlap_m2(a, b, tolerance_m: float, projection) -> float:
    """The area (m²) two siblings share, if the shared part is wider than the tolerance."""
    shared = projection.to_metres(a).intersection(projection.to_metres(b))
    if shared.is_empty or shared.area < 1e-6 or shared.buffer(-tolerance_m / 2).is_empty:
        return 0.0
    return float(shared.area)


def _check(parsed: list[_Feature], report: ImportReport, tolerance_m: float) -> None:
    by_code = {f.code: f for f in parsed}
    # The code exists.
    names: dict[str, str] = {}
    for level in LEVELS:
        codes = [f.code for f in parsed if f.level == level]
        if codes:
            names.update(UNIT_MODELS[level].objects.filter(code__in=codes).values_list("code", "name"))
    missing = {f.code for f in parsed if f.code not in names}
    for f in parsed:
        if f.code in missing:
            report.errors.append(FeatureError(f.number, f.code, f"编码不存在：没有这个{LEVEL_NAMES[f.level]}。"))
    present = [f for f in parsed if f.code not in missing]

    # A child inside its parent: the parent's boundary from the file, else the stored one.
    wanted_parents = defaultdict(set)
    for f in present:
        parent = parent_code(f.code)
        if parent and parent not in by_code:
            wanted_parents[LEVEL_BY_LENGTH[len(parent)]].add(parent)
    parents = {code: f.shape for code, f in by_code.items()}
    for level, codes in wanted_parents.items():
        parents.update(_stored(level, codes))
    for f in present:
        parent = parent_code(f.code)
        if parent in parents:
            far = _excess_m(f.shape, parents[parent], tolerance_m)
            if far:
                report.errors.append(FeatureError(f.number, f.code, f"超出上级单位（{parent}）边界，最远约 {far:.0f} 米。"))

    # The stored children of a unit in the file, inside its new boundary.
    for f in present:
        if f.level == "grid":
            continue
        child_level = LEVELS[LEVELS.index(f.level) + 1]
        children = UNIT_MODELS[child_level].objects.filter(code__startswith=f.code, boundary__isnull=False) \
            .exclude(code__in=list(by_code)).values_list("code", "boundary")
        for code, text in children:
            far = _excess_m(geo.load(text), f.shape, tolerance_m)
            if far:
                report.errors.append(FeatureError(
                    f.number, f.code, f"已有下级单位 {code} 的边界超出新边界，最远约 {far:.0f} 米（请一并导入下级边界）。"))

    # Siblings do not overlap: the file's units among themselves and with stored siblings.
    groups = defaultdict(list)
    for f in present:
        groups[(f.level, parent_code(f.code) or "")].append(f)
    for (level, parent), members in groups.items():
        model = UNIT_MODELS[level]
        stored = model.objects.filter(boundary__isnull=False).exclude(code__in=list(by_code))
        stored = stored.filter(code__startswith=parent) if parent else stored
        others = [(code, geo.load(text)) for code, text in stored.values_list("code", "boundary")]
        shapes = [m.shape for m in members] + [s for _c, s in others]
        labels = [m.code for m in members] + [c for c, _s in others]
        projection = geo.LocalProjection.around(shapely.union_all(shapes).envelope)
        tree = shapely.STRtree(shapes)
        for i, member in enumerate(members):
            for j in sorted(tree.query(member.shape, predicate="intersects")):
                if j == i or (j < len(members) and j < i):
                    continue  # itself, or a pair of the file already reported once
                area = _overlap_m2(member.shape, shapes[j], tolerance_m, projection)
                if area:
                    report.errors.append(FeatureError(
                        member.number, member.code, f"与同级单位 {labels[j]} 重叠约 {area:.0f} 平方米。"))


def boundaries_import(*, data, tolerance_m: float | None = None) -> ImportReport:
    """Import boundaries from GeoJSON (bytes, text or a parsed dict): all or nothing.

    Steps: 1. read the FeatureCollection; 2. check every feature (the module docstring's
    list), collecting every error; 3. any error: write nothing; 4. otherwise store each
    unit's boundary (as given, grids.geo.boundary_text) and its bounding box in one
    transaction, and renew the boundaries' token after the commit (the maps' cached
    geometry is stale).
    """
    tolerance_m = settings.BOUNDARY_TOLERANCE_M if tolerance_m is None else tolerance_m
    report = ImportReport()
    features = _read_features(data, report)
    parsed = _parse(features, report)
    if report.errors:
        return report
    _check(parsed, report, tolerance_m)
    if report.errors:
        return report
    with transaction.atomic():
        for level in LEVELS:
            units = [(f.code, geo.boundary_text(f.geometry), geo.Box.of(f.shape)) for f in parsed if f.level == level]
            _store(level, units)
            report.imported[level] = len(units)
        _renew_token()
    return report


def _store(level: str, units: list[tuple[str, str, geo.Box]]) -> None:
    model = UNIT_MODELS[level]
    rows = {u.code: u for u in model.objects.filter(code__in=[c for c, _t, _b in units]).only("pk", "code")}
    for code, text, box in units:
        row = rows[code]
        row.boundary = text
        row.min_lat, row.min_lon, row.max_lat, row.max_lon = box.min_lat, box.min_lon, box.max_lat, box.max_lon
    model.objects.bulk_update(list(rows.values()), ["boundary", "min_lat", "min_lon", "max_lat", "max_lon"],
                              batch_size=500)


# --- export ------------------------------------------------------------------------------------


def boundaries_export(*, level: str | None = None) -> dict:
    """The stored boundaries as a FeatureCollection (of one level, or all, top-down), each
    feature with ``code``, ``level`` and ``name`` properties: what the import reads."""
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    features = []
    for name in [level] if level else LEVELS:
        rows = UNIT_MODELS[name].objects.filter(boundary__isnull=False).order_by("code") \
            .values_list("code", "name", "boundary")
        features += [{"type": "Feature", "properties": {"code": code, "level": name, "name": unit_name},
                      "geometry": json.loads(text)} for code, unit_name, text in rows]
    return {"type": "FeatureCollection", "features": features}


# --- generated boundaries (the demo and the benchmark) -------------------------------------------


def boundaries_from_buildings(*, clip=None, digits: int = 7) -> dict[str, int]:
    """Plausible boundaries for a city whose buildings have points: one city-wide Voronoi
    diagram of the buildings, each cell given to its building's grid, the cells united
    upward (grid, then community, street, district). Every building lies inside its
    grid's boundary (its own cell is inside it), siblings share edges and never overlap,
    and each child lies inside its parent (it is part of it).

    ``clip``: the city's outline (a shapely polygon, degrees); default: the buildings'
    convex hull widened by about 300 m. Buildings that share a point keep one cell (the
    lower code's). Coordinates are rounded to ``digits`` decimals (7: about 1 cm).
    Replaces every stored boundary; returns the number of units per level.
    """
    rows = list(Building.objects.filter(latitude__isnull=False, longitude__isnull=False)
                .order_by("code").values_list("grid_id", "longitude", "latitude"))
    if not rows:
        return {}
    owner: dict[tuple[float, float], str] = {}
    for grid, lon, lat in rows:
        owner.setdefault((float(lon), float(lat)), grid)
    points = shapely.points(list(owner))
    hull = shapely.convex_hull(shapely.multipoints(points)).buffer(0.003)
    if clip is None:
        clip = hull
    elif not clip.contains(shapely.multipoints(points)):  # buildings outside the outline given
        clip = shapely.union(clip, hull)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=clip, ordered=True)
    cells = shapely.intersection(shapely.get_parts(cells), clip)
    by_unit: dict[str, list] = defaultdict(list)
    for grid, cell in zip(owner.values(), cells, strict=True):
        by_unit[grid].append(cell)
    counts = {}
    with transaction.atomic():
        for level, length in (("grid", 15), ("community", 12), ("street", 9), ("district", 6)):
            if level != "grid":
                parts = defaultdict(list)
                for code, shape in by_unit.items():
                    parts[code[:length]].append(shape)
                by_unit = parts
            united = {code: _unite(shapes, digits) for code, shapes in by_unit.items()}
            model = UNIT_MODELS[level]
            model.objects.update(boundary=None, min_lat=None, min_lon=None, max_lat=None, max_lon=None)
            units = [(code, json.dumps(geo.as_geojson(shape), separators=(",", ":")), geo.Box.of(shape))
                     for code, shape in united.items()]
            _store(level, units)
            counts[level] = len(units)
            by_unit = united
        _renew_token()
    return counts


def _unite(shapes: list, digits: int):
    try:
        shape = shapely.coverage_union_all(shapes) if len(shapes) > 1 else shapes[0]
    except shapely.errors.GEOSException:  # cells that do not quite form a coverage
        shape = shapely.union_all(shapes)
    shape = shapely.set_precision(shape, 10 ** -digits)
    if shape.geom_type not in geo.POLYGONAL:  # rounding can leave a stray line of a sliver
        shape = shapely.union_all([p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"])
    return shape
