"""Boundaries (issue 21): the import's checks, each refusing the whole file and naming the
bad feature; the export read back unchanged; the commands and the admin upload.

The test city (tests/factories.make_city) cut into rectangles (longitude × latitude):
東城区 116.30–116.50 × 39.90–40.00; 甲街道 the west half, 乙街道 the east half; 甲一社区
116.30–116.35 (its grids A1 116.30–116.325 and A2 116.325–116.35), 甲二社区 116.35–116.40
(grid B1), 乙一社区 116.40–116.50 (grid C1). At 39.95° one degree of longitude is 85.2 km,
one of latitude 111.2 km, so 0.001° of longitude is about 85 m.
"""

import json

import pytest
from django.core.management import CommandError, call_command

from grids.boundaries import boundaries_export, boundaries_import
from grids.models import Community, District, Grid, Street
from tests.maps import city_features, collection, feature, rect


def nothing_stored() -> bool:
    return not any(m.objects.filter(boundary__isnull=False).exists() for m in (District, Street, Community, Grid))


def errors_of(report) -> list[str]:
    return [str(e) for e in report.errors]


def test_a_whole_city_imports_with_its_bounding_boxes(city):
    report = boundaries_import(data=collection(*city_features()))
    assert report.ok, errors_of(report)
    assert report.imported == {"district": 1, "street": 2, "community": 3, "grid": 4}
    a2 = Grid.objects.get(code="110101001001002")
    assert (a2.min_lon, a2.min_lat, a2.max_lon, a2.max_lat) == (116.325, 39.90, 116.35, 40.00)
    assert json.loads(a2.boundary) == rect(116.325, 116.35)
    assert report.summary() == "已导入边界：区 1 个，街道 2 个，社区 3 个，网格 4 个"


def test_an_invalid_geometry_refuses_the_whole_file_and_names_the_feature(city):
    bowtie = {"type": "Polygon", "coordinates": [[[116.30, 39.90], [116.325, 40.00], [116.325, 39.90],
                                                  [116.30, 40.00], [116.30, 39.90]]]}
    features = city_features()
    features[6] = feature("110101001001001", bowtie)
    report = boundaries_import(data=collection(*features))
    assert len(report.errors) == 1
    assert errors_of(report)[0].startswith("第 7 个要素（110101001001001）：几何无效：Self-intersection")
    assert report.summary() == "文件有 1 处错误，未导入任何边界。"
    assert nothing_stored()


@pytest.mark.parametrize("geometry, message", [
    ({"type": "Point", "coordinates": [116.31, 39.95]}, "几何类型须为 Polygon 或 MultiPolygon（收到 Point）"),
    (rect(39.90, 40.00, 116.30, 116.325), "坐标超出 WGS-84 经纬度范围"),  # latitude and longitude swapped
    ({"type": "Polygon", "coordinates": [[[116.30, 39.90], [116.31, 39.90]]]}, "坐标格式不正确"),
])
def test_what_is_not_a_boundary_is_named(city, geometry, message):
    report = boundaries_import(data=collection(feature("110101001001001", geometry)))
    assert len(report.errors) == 1 and message in errors_of(report)[0], errors_of(report)
    assert errors_of(report)[0].startswith("第 1 个要素（110101001001001）：")
    assert nothing_stored()


def test_a_code_that_does_not_exist_is_named_with_the_others(city):
    features = city_features() + [feature("110101001001009", rect(116.30, 116.31, 39.90, 39.91)),
                                  feature("11010100100", rect(116.30, 116.31))]
    report = boundaries_import(data=collection(*features))
    assert errors_of(report) == [
        "第 12 个要素（11010100100）：编码须为 6、9、12 或 15 位数字（区、街道、社区、网格）。",
    ]
    features.pop()
    report = boundaries_import(data=collection(*features))
    assert errors_of(report) == ["第 11 个要素（110101001001009）：编码不存在：没有这个网格。"]
    assert nothing_stored()


def test_a_level_that_contradicts_the_code_and_a_code_given_twice(city):
    report = boundaries_import(data=collection(
        feature("110101001", rect(116.30, 116.40), level="community"),
        feature("110101002", rect(116.40, 116.50)),
        feature("110101002", rect(116.40, 116.50)),
    ))
    assert errors_of(report) == [
        "第 1 个要素（110101001）：level“community”与编码位数不符（9 位为街道，即 street）。",
        "第 3 个要素（110101002）：编码与第 2 个要素重复。",
    ]


def test_a_child_that_sticks_out_of_its_parent_is_refused_beyond_the_tolerance(city, settings):
    settings.BOUNDARY_TOLERANCE_M = 5
    features = city_features()
    # Grid A1 reaches 0.0012° (≈102 m) west of its community (and of street and district).
    features[6] = feature("110101001001001", rect(116.2988, 116.325))
    report = boundaries_import(data=collection(*features))
    assert errors_of(report) == ["第 7 个要素（110101001001001）：超出上级单位（110101001001）边界，最远约 102 米。"]
    assert nothing_stored()
    # 0.00003° (≈2.6 m) is a digitising sliver within 5 m: accepted.
    features[6] = feature("110101001001001", rect(116.29997, 116.325))
    assert boundaries_import(data=collection(*features)).ok


def test_a_child_is_checked_against_the_stored_parent_and_a_parent_against_its_stored_children(city):
    assert boundaries_import(data=collection(*city_features()[:6])).ok  # district, streets, communities
    report = boundaries_import(data=collection(feature("110101002001001", rect(116.39, 116.50))))
    assert errors_of(report) == ["第 1 个要素（110101002001001）：超出上级单位（110101002001）边界，最远约 852 米。"]
    assert boundaries_import(data=collection(*city_features()[6:])).ok  # the grids
    # A smaller community would leave its stored grid B1 outside.
    report = boundaries_import(data=collection(feature("110101001002", rect(116.35, 116.39))))
    assert errors_of(report) == [
        "第 1 个要素（110101001002）：已有下级单位 110101001002001 的边界超出新边界，最远约 852 米（请一并导入下级边界）。",
    ]
    # Both together: fine.
    assert boundaries_import(data=collection(feature("110101001002", rect(116.35, 116.39)),
                                             feature("110101001002001", rect(116.35, 116.39)))).ok


def test_siblings_that_overlap_are_refused_in_the_file_and_against_stored_ones(city):
    features = city_features()
    # A2 reaches 0.001° (≈85 m) into A1: 85 m × 11.1 km ≈ 0.95 km².
    features[7] = feature("110101001001002", rect(116.324, 116.35))
    report = boundaries_import(data=collection(*features))
    assert len(report.errors) == 1
    assert errors_of(report)[0].startswith("第 7 个要素（110101001001001）：与同级单位 110101001001002 重叠约 9")
    assert nothing_stored()
    assert boundaries_import(data=collection(*city_features())).ok
    report = boundaries_import(data=collection(feature("110101001001002", rect(116.324, 116.35))))
    assert len(report.errors) == 1
    assert errors_of(report)[0].startswith("第 1 个要素（110101001001002）：与同级单位 110101001001001 重叠约 9")


def test_neighbours_that_only_share_an_edge_do_not_overlap(city):
    assert boundaries_import(data=collection(*city_features())).ok


def test_a_file_that_is_not_geojson(city):
    assert errors_of(boundaries_import(data=b"{not json")) [0].startswith("不是有效的 GeoJSON")
    assert errors_of(boundaries_import(data=b'{"type": "Feature"}')) == ["第 1 个要素：缺少 properties.code（单位编码）。"]
    assert errors_of(boundaries_import(data=b'[]')) == ["文件须为 GeoJSON FeatureCollection（含 features 数组）。"]


def test_the_export_reads_back_unchanged(city, tmp_path):
    multi = {"type": "MultiPolygon", "coordinates": [rect(116.30, 116.31)["coordinates"],
                                                       rect(116.315, 116.325)["coordinates"]]}
    features = city_features()
    features[6] = feature("110101001001001", multi)
    assert boundaries_import(data=collection(*features)).ok
    out = tmp_path / "city.geojson"
    call_command("export_boundaries", str(out))
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [f["properties"] for f in exported["features"][:2]] == [
        {"code": "110101", "level": "district", "name": "东城区"},
        {"code": "110101001", "level": "street", "name": "甲街道"},
    ]
    assert exported["features"][6]["geometry"] == multi
    stored = {g.code: g.boundary for g in Grid.objects.all()}
    Grid.objects.update(boundary=None, min_lat=None, min_lon=None, max_lat=None, max_lon=None)
    call_command("import_boundaries", str(out))
    assert {g.code: g.boundary for g in Grid.objects.all()} == stored
    again = tmp_path / "again.geojson"
    call_command("export_boundaries", str(again))
    assert again.read_bytes() == out.read_bytes()
    grids_only = tmp_path / "grids.geojson"
    call_command("export_boundaries", str(grids_only), "--level", "grid")
    assert [f["properties"]["level"] for f in json.loads(grids_only.read_text())["features"]] == ["grid"] * 4
    assert boundaries_export(level="grid") == json.loads(grids_only.read_text())


def test_the_command_lists_every_bad_feature_and_imports_nothing(city, tmp_path, capsys):
    features = city_features()
    features[7] = feature("110101001001002", rect(116.324, 116.35))
    features.append(feature("110101001001009", rect(116.30, 116.31)))
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(collection(*features)), encoding="utf-8")
    with pytest.raises(CommandError, match="文件有 2 处错误，未导入任何边界。"):
        call_command("import_boundaries", str(path))
    err = capsys.readouterr().err
    assert "第 11 个要素（110101001001009）：编码不存在：没有这个网格。" in err
    assert "第 7 个要素（110101001001001）：与同级单位 110101001001002 重叠" in err
    assert nothing_stored()


def test_the_admin_upload(city, client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456")
    client.force_login(admin)
    page = client.get("/admin/grids/district/")
    assert "/admin/grids/district/boundaries/import/" in page.content.decode()
    bad = city_features()
    bad[6] = feature("110101001001001", {"type": "Point", "coordinates": [116.31, 39.95]})
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("city.geojson", json.dumps(collection(*bad)).encode(), "application/geo+json")
    response = client.post("/admin/grids/district/boundaries/import/", {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200
    assert "第 7 个要素（110101001001001）：几何类型须为 Polygon 或 MultiPolygon（收到 Point）" in body
    assert nothing_stored()
    upload = SimpleUploadedFile("city.geojson", json.dumps(collection(*city_features())).encode())
    response = client.post("/admin/grids/district/boundaries/import/", {"file": upload})
    assert response.status_code == 302
    assert Grid.objects.filter(boundary__isnull=False).count() == 4
    # Staff without the permission: refused.
    client.force_login(city.users.community_worker)
    assert client.get("/admin/grids/district/boundaries/import/").status_code == 302  # to the admin login
