"""Hot spots (masked phones, access logged) and the staffing ratio."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from governance.models import AccessLog
from tests.appeals.factories import grid_category, receive
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db


def test_hot_spots_repeated_categories_buildings_and_households(city, login):
    category = grid_category()
    for _i in range(3):
        receive(city, category=category, building=city.building_a1, phone="13812345678")
    receive(city, category=category, building=city.building_a2, phone="13900001111")
    receive(city, category=category, building=city.building_c1, phone="13900002222")  # other street
    client = login(city.users.street_officer)
    today = timezone.localdate()
    period = f"from={today - timedelta(days=1)}&to={today}"
    response = client.get(f"/reports/hotspots/?{period}")
    html = response.content.decode()
    tables = page_tables(html)
    assert tables["hotspot-categories"][1][:3] == ["01001", "暴露垃圾", "4"]  # 甲街道 only
    assert tables["hotspot-buildings"][1][1] == "和平里1号楼" and tables["hotspot-buildings"][1][4] == "3"
    assert len(tables["hotspot-buildings"]) == 2  # a single appeal is not a hot spot
    assert tables["hotspot-households"][1][0] == "138****5678"
    assert "13812345678" not in html
    log = AccessLog.objects.get(user=city.users.street_officer)
    assert log.action == "view" and log.subject.startswith("hotspots:") and log.record_count == 1
    client.get(f"/reports/hotspots/?{period}&export=xlsx")
    assert AccessLog.objects.filter(user=city.users.street_officer, action="export").count() == 1
    assert client.get(f"/reports/hotspots/?{period}&unit=110101002").status_code == 404


def test_staffing_ratio_per_10000_residents(city, login):
    data = login(city.users.supervisor).get("/api/v1/reports/staffing/").json()
    assert data["target"] == 18.0
    communities = {r["code"]: r for r in data["communities"]["rows"]}
    # 甲一社区: the community worker and its two grid workers, 8,000 residents.
    assert communities["110101001001"]["workers"] == 3 and communities["110101001001"]["ratio"] == 3.75
    assert communities["110101001001"]["gap"] == 12  # 18 × 0.8 = 14.4 → 15 needed
    assert communities["110101001002"]["workers"] == 0 and communities["110101001002"]["ratio"] == 0.0
    assert communities["110101002001"]["ratio"] == 2.0  # the outsider, 5,000 residents
    streets = {r["code"]: r for r in data["streets"]["rows"]}
    assert streets["110101001"]["ratio"] == float(Decimal(3 * 10000) / 14000) .__round__(2)
    assert streets["110101001"]["meets"] == "未达标"
    districts = {r["code"]: r for r in data["districts"]["rows"]}
    assert districts["110101"]["workers"] == 4 and districts["110101"]["population"] == 19000
    # A community worker sees only their community.
    page = login(city.users.community_worker).get("/reports/staffing/")
    rows = page_tables(page.content.decode())["staffing-communities"]
    assert [r[0] for r in rows[1:]] == ["110101001001"]
