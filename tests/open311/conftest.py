"""Open311 fixtures: the small city with coordinates on its buildings, a category of
each routing kind, and an API key."""

from decimal import Decimal
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from appeals.open311.models import ApiKey
from tests.appeals.factories import community_category, grid_category
from tests.factories import BuildingFactory

BASE = "/open311/v2"
# 和平里1号楼 (A1) and, 111 m to its north, 和平里2号楼 (A2); the others are kilometres away.
A1 = (Decimal("39.930000"), Decimal("116.410000"))
A2 = (Decimal("39.931000"), Decimal("116.410000"))


@pytest.fixture
def o311(city):
    for building, (lat, lon) in (
        (city.building_a1, A1), (city.building_a2, A2),
        (city.building_b1, (Decimal("39.950000"), Decimal("116.420000"))),
        (city.building_c1, (Decimal("39.900000"), Decimal("116.400000"))),
    ):
        building.latitude, building.longitude = lat, lon
        building.save(update_fields=["latitude", "longitude"])
    # A near-namesake of 和平里1号楼, to show that address matching picks the exact one.
    BuildingFactory(grid=city.grid_a1, code=f"{city.grid_a1.code}0010", address="和平里10号楼")
    key, raw = ApiKey.issue(name="测试应用")
    return SimpleNamespace(
        # 暴露垃圾 is public (a place); 噪音扰民 (邻里纠纷) is about people: never public.
        city=city, garbage=grid_category(public=True), noise=community_category(), key=key, raw_key=raw,
    )


@pytest.fixture
def post_request(client, o311):
    """POST requests.{fmt} with a valid key and a complete request, overridable."""

    def _post(fmt="json", **fields):
        data = {
            "api_key": o311.raw_key,
            "service_code": o311.garbage.code,
            "address_id": o311.city.building_a1.code,
            "description": "楼下垃圾堆放多日无人清理",
            "first_name": "建国",
            "last_name": "王",
            "phone": "13812345678",
            "email": "wangjg@example.com",
        }
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        return client.post(f"{BASE}/requests.{fmt}", data)

    return _post


def xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_body(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def errors_of(response, fmt: str) -> list[tuple[int, str]]:
    """The spec's error body, in either format, as (code, description) pairs."""
    if fmt == "json":
        return [(e["code"], e["description"]) for e in json_body(response)]
    root = xml(response)
    assert root.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]
