"""Hot spots (masked phones, access logged); the staffing ratio is in test_staffing.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.assessment.flows import flows_refresh_recent
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
    flows_refresh_recent()  # the categories are summed from the daily flows
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
    assert "数据截至" in html  # the flows' last refresh
    assert "13812345678" not in html
    log = AccessLog.objects.get(user=city.users.street_officer)
    assert log.action == "view" and log.subject.startswith("hotspots:") and log.record_count == 1
    client.get(f"/reports/hotspots/?{period}&export=xlsx")
    assert AccessLog.objects.filter(user=city.users.street_officer, action="export").count() == 1
    assert client.get(f"/reports/hotspots/?{period}&unit=110101002").status_code == 404
