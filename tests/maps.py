"""Boundaries for the test city (tests/factories.make_city), cut into rectangles
(longitude × latitude): 东城区 116.30–116.50 × 39.90–40.00; 甲街道 the west half, 乙街道 the
east half; 甲一社区 116.30–116.35 (its grids A1 116.30–116.325 and A2 116.325–116.35),
甲二社区 116.35–116.40 (grid B1), 乙一社区 116.40–116.50 (grid C1). At 39.95° one degree of
longitude is 85.2 km, one of latitude 111.2 km."""

from grids.boundaries import boundaries_import

S, N = 39.90, 40.00


def rect(west: float, east: float, south: float = S, north: float = N) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


def feature(code: str, geometry: dict, **properties) -> dict:
    return {"type": "Feature", "properties": {"code": code, **properties}, "geometry": geometry}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def city_features() -> list[dict]:
    return [
        feature("110101", rect(116.30, 116.50), level="district", name="东城区"),
        feature("110101001", rect(116.30, 116.40)),
        feature("110101002", rect(116.40, 116.50)),
        feature("110101001001", rect(116.30, 116.35)),
        feature("110101001002", rect(116.35, 116.40)),
        feature("110101002001", rect(116.40, 116.50)),
        feature("110101001001001", rect(116.30, 116.325)),
        feature("110101001001002", rect(116.325, 116.35)),
        feature("110101001002001", rect(116.35, 116.40)),
        feature("110101002001001", rect(116.40, 116.50)),
    ]



def import_city_boundaries() -> None:
    report = boundaries_import(data=collection(*city_features()))
    assert report.ok, [str(e) for e in report.errors]
