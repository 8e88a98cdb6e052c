"""Where a generated city's units lie (issue 21): the demo and the benchmark place each
grid's buildings together, each community's grids together, and so on up, so that the
boundaries generated from the buildings (grids.boundaries.boundaries_from_buildings:
one Voronoi diagram, cells united upward) look like a city, not confetti.

The city is an irregular round outline whose area grows with the number of communities
(about 0.8 km² each, like a central Beijing community). It is cut into the districts by a
Voronoi diagram of evenly spread seed points (two rounds of Lloyd's relaxation), each
district into its streets the same way, and so on down to the grids; a grid's buildings
stand in one or two compounds inside its region. Work is done in metres on a local plane
around the city's centre (grids.geo.LocalProjection) and converted to WGS-84 at the end.

Deterministic: every region depends only on the seed, the counts and its code.
"""

import math
import random
from collections.abc import Callable
from decimal import Decimal

import shapely

from grids import geo

CENTRE = (39.925, 116.40)  # central Beijing (lat, lon)
COMMUNITY_AREA_M2 = 800_000
_LLOYD_ROUNDS = 2


class CityLayout:
    """Regions by unit code. ``district_codes``: the city's districts in order;
    ``count(code)``: how many children the unit of ``code`` has (streets of a district,
    communities of a street, grids of a community). Children's codes are the parent's
    code + a 3-digit number from 001."""

    def __init__(self, *, seed: str, district_codes: list[str], count: Callable[[str], int], communities: int) -> None:
        self.seed = seed
        self.district_codes = list(district_codes)
        self.count = count
        self.projection = geo.LocalProjection(lat=CENTRE[0], lon=CENTRE[1])
        radius = math.sqrt(max(communities, 1) * COMMUNITY_AREA_M2 / math.pi)
        rng = random.Random(f"{seed}:outline")
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
        ring = []
        for i in range(96):
            angle = 2 * math.pi * i / 96
            wobble = 1 + 0.10 * math.sin(3 * angle + phases[0]) + 0.06 * math.sin(5 * angle + phases[1]) \
                + 0.03 * math.sin(9 * angle + phases[2])
            ring.append((radius * wobble * math.cos(angle), radius * wobble * 0.9 * math.sin(angle)))
        self.outline_m = shapely.Polygon(ring)
        self._regions: dict[str, object] = {}

    @property
    def outline(self):
        """The city's outline in degrees (longitude, latitude)."""
        return self.projection.to_degrees(self.outline_m)

    def region(self, code: str):
        """The region (metres) of the unit of ``code``, cut from its parent's together
        with its siblings'."""
        if code not in self._regions:
            if len(code) == 6:
                parent, codes, key = self.outline_m, self.district_codes, "city"
            else:
                key = code[:-3]
                parent = self.region(key)
                codes = [f"{key}{i:03d}" for i in range(1, self.count(key) + 1)]
            cells = split(parent, len(codes), random.Random(f"{self.seed}:{key}"))
            self._regions.update(zip(codes, cells, strict=True))
        return self._regions[code]

    def forget(self, prefix: str) -> None:
        """Drop the regions below ``prefix`` (a built community's grids), to bound memory."""
        for code in [c for c in self._regions if c.startswith(prefix) and len(c) > len(prefix)]:
            del self._regions[code]

    def building_points(self, grid_code: str, n: int, rng: random.Random, *, compounds: int = 1,
                        taken: set | None = None) -> list[tuple[Decimal, Decimal]]:
        """``n`` building points (lat, lon; 6 decimals, as Building stores them) inside the
        grid's region, around ``compounds`` compound centres; no two equal (``taken``
        holds the points already given out, across calls)."""
        taken = taken if taken is not None else set()
        region = self.region(grid_code)
        inner = region.buffer(-15)
        inner = inner if not inner.is_empty else region
        spread = max(25.0, math.sqrt(region.area / max(compounds, 1)) / 3)
        centres = [_sample(inner, rng) for _ in range(compounds)]
        points = []
        attempts = 0
        while len(points) < n:
            attempts += 1
            cx, cy = centres[len(points) % compounds]
            scale = spread if attempts < 50 * n else spread * 4
            x, y = cx + rng.gauss(0, scale), cy + rng.gauss(0, scale)
            if attempts > 200 * n:  # a thin region: anywhere in it
                x, y = _sample(region, rng)
            lon, lat = self.projection.to_degrees(shapely.Point(x, y)).coords[0]
            point = (Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}"))
            # The stored (rounded) point must still lie in the region, and be nobody else's.
            back = self.projection.to_metres(shapely.Point(float(point[1]), float(point[0])))
            if point in taken or not region.contains(back):
                continue
            taken.add(point)
            points.append(point)
        return points


def _sample(region, rng: random.Random) -> tuple[float, float]:
    min_x, min_y, max_x, max_y = region.bounds
    for _ in range(10_000):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if region.contains(shapely.Point(x, y)):
            return x, y
    point = region.representative_point()
    return point.x, point.y


def split(region, n: int, rng: random.Random) -> list:
    """``region`` cut into ``n`` cells of about equal size: a Voronoi diagram of ``n``
    seed points spread by Lloyd's relaxation, clipped to the region; cells in the seeds'
    order, which runs west to east in bands from south to north (neighbouring codes lie
    side by side, as real numbering tends to)."""
    if n <= 1:
        return [region]
    seeds = [_sample(region, rng) for _ in range(n)]
    for _ in range(_LLOYD_ROUNDS + 1):
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
        cells = [shapely.intersection(c, region) for c in shapely.get_parts(cells)]
        seeds = [(c.centroid.x, c.centroid.y) if not c.is_empty else s for c, s in zip(cells, seeds, strict=True)]
    bands = max(1, round(math.sqrt(n)))
    min_y, max_y = region.bounds[1], region.bounds[3]
    height = (max_y - min_y) / bands or 1.0

    def order(i: int):
        x, y = seeds[i]
        band = min(bands - 1, int((y - min_y) / height))
        return (band, x if band % 2 == 0 else -x)

    ranked = sorted(range(n), key=order)
    return [_polygonal(cells[i]) for i in ranked]


def _polygonal(shape):
    if shape.geom_type in geo.POLYGONAL:
        return shape
    parts = [p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else shape
