"""Locating a point (grids.locate) and routing by it: the web form's pin, patrol and
Open311 lat/long, with the precedence building > pin > words (issue 21).

Boundaries of tests/maps.py: grid A1 116.30–116.325, A2 116.325–116.35 (甲一社区), B1
116.35–116.40 (甲二社区), C1 116.40–116.50 (乙一社区), all 39.90–40.00.
"""

from decimal import Decimal

import pytest

from appeals.enums import AppealState, HandlingLevel, Source
from appeals.models import Appeal
from grids.boundaries import boundaries_import
from grids.locate import locate, nearest_buildings, unit_at
from grids.models import Building
from tests.appeals.factories import grid_category, receive
from tests.maps import collection, feature, import_city_boundaries, rect

pytestmark = pytest.mark.django_db


def test_a_point_is_in_the_grid_whose_polygon_holds_it(city, django_assert_num_queries):
    import_city_boundaries()
    with django_assert_num_queries(1):  # the grids' boxes; contains on the one candidate
        location = locate(lat=39.95, lon=116.33)
    assert (location.grid, location.community, location.street) == (city.grid_a2, city.comm_a, city.street_a)
    assert location.method == "boundary" and location.building is None
    assert locate(lat=39.95, lon=116.45).grid == city.grid_c1
    # On the edge two grids share: the lower code.
    assert locate(lat=39.95, lon=116.325).grid == city.grid_a1


def test_a_grid_box_that_holds_the_point_is_not_enough(city):
    # A2 as an L: its box holds (39.99, 116.34), its polygon does not.
    shape = {"type": "Polygon", "coordinates": [[[116.325, 39.90], [116.35, 39.90], [116.35, 39.95], [116.335, 39.95],
                                                 [116.335, 40.00], [116.325, 40.00], [116.325, 39.90]]]}
    assert boundaries_import(data=collection(feature("110101001001002", shape))).ok
    assert locate(lat=39.99, lon=116.34) is None  # no other boundary, no building with a point
    assert locate(lat=39.92, lon=116.34).grid == city.grid_a2


def test_coarser_boundaries_place_the_point_where_grids_have_none(city):
    assert boundaries_import(data=collection(feature("110101001", rect(116.30, 116.40)),
                                             feature("110101001001", rect(116.30, 116.35)))).ok
    assert unit_at(lat=39.95, lon=116.31) == city.comm_a
    location = locate(lat=39.95, lon=116.37)
    assert (location.street, location.community, location.grid) == (city.street_a, None, None)


def test_outside_every_boundary_the_nearest_building_within_300_m_stands_in(city, settings):
    settings.LOCATE_FALLBACK_M = 300
    import_city_boundaries()
    Building.objects.filter(pk=city.building_b1.pk).update(latitude=Decimal("40.001000"), longitude=Decimal("116.36"))
    # 0.002° of latitude north of 40.00 is 222 m from 安定门3号楼 (111 m north of the city).
    location = locate(lat=40.002, lon=116.36)
    assert (location.method, location.building, location.grid) == ("nearest_building", city.building_b1, city.grid_b1)
    assert round(location.distance_m) == 111
    assert locate(lat=40.0045, lon=116.36) is None  # 389 m away
    near = nearest_buildings(lat=40.002, lon=116.36, max_m=500)
    assert [(n.building, round(n.distance_m)) for n in near] == [(city.building_b1, 111)]


def test_the_pin_routes_a_web_appeal_to_the_grid_that_holds_it(city):
    import_city_boundaries()
    appeal = receive(city, category=grid_category(), street=None, latitude=Decimal("39.951234567"),
                     longitude=Decimal("116.3401"))
    assert (appeal.grid, appeal.community, appeal.street, appeal.building) == (city.grid_a2, city.comm_a,
                                                                               city.street_a, None)
    assert (appeal.state, appeal.handling_level, appeal.handling_grid) == (AppealState.DISPATCHED, HandlingLevel.GRID,
                                                                           city.grid_a2)
    # Stored as given.
    assert Appeal.objects.get(pk=appeal.pk).latitude == Decimal("39.951234567")


def test_a_chosen_building_wins_over_the_pin_and_the_pin_over_the_words(city):
    import_city_boundaries()
    appeal = receive(city, category=grid_category(), building=city.building_c1, latitude=Decimal("39.95"),
                     longitude=Decimal("116.33"))
    assert appeal.grid == city.grid_c1 and appeal.latitude == Decimal("39.95")
    appeal = receive(city, category=grid_category(), building=None, street=city.street_b, community=city.comm_c,
                     address_text="菊儿胡同口", latitude=Decimal("39.95"), longitude=Decimal("116.33"))
    assert (appeal.grid, appeal.community) == (city.grid_a2, city.comm_a)
    # A pin that lands nowhere: the words decide, and the appeal waits for dispatch by hand.
    appeal = receive(city, category=grid_category(), building=None, street=city.street_b, community=city.comm_c,
                     address_text="菊儿胡同口", latitude=Decimal("31.23"), longitude=Decimal("121.47"))
    assert (appeal.grid, appeal.community, appeal.state) == (None, city.comm_c, AppealState.RECEIVED)


def test_patrol_with_the_phones_position_lands_on_the_grid_that_holds_it(city):
    import_city_boundaries()
    appeal = receive(city, category=grid_category(), source=Source.GRID_PATROL, actor=city.users.grid_worker,
                     building=None, grid=city.grid_a1, phone="", address_text="",
                     latitude=Decimal("39.95"), longitude=Decimal("116.33"))
    # The worker of A1 found it in A2: routed to A2, not taken on as the finder's own.
    assert (appeal.grid, appeal.handling_grid, appeal.state) == (city.grid_a2, city.grid_a2, AppealState.DISPATCHED)
    appeal = receive(city, category=grid_category(), source=Source.GRID_PATROL, actor=city.users.grid_worker,
                     building=None, grid=city.grid_a1, phone="", address_text="",
                     latitude=Decimal("39.95"), longitude=Decimal("116.31"))
    assert (appeal.grid, appeal.state) == (city.grid_a1, AppealState.IN_PROGRESS)


def test_a_building_with_its_place_is_what_the_orm_reads_in_one_query(city, django_assert_num_queries):
    from django.forms.models import model_to_dict

    from grids.locate import building_with_place

    import_city_boundaries()  # boundaries read too, as select_related reads them
    code = Building.objects.order_by("code").values_list("code", flat=True).first()
    expected = Building.objects.select_related("grid__community__street").get(code=code)
    with django_assert_num_queries(1):
        found = building_with_place(code)
        chain = [found, found.grid, found.grid.community, found.grid.community.street]
    wanted = [expected, expected.grid, expected.grid.community, expected.grid.community.street]
    for got, want in zip(chain, wanted, strict=True):
        assert type(got) is type(want) and got.pk == want.pk
        assert {f.attname: getattr(got, f.attname) for f in got._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields}
        assert not got._state.adding and got._state.db == "default"
    assert model_to_dict(found) == model_to_dict(expected)
    assert found.grid.community.street.boundary is not None
    assert building_with_place("1" * 19) is None
