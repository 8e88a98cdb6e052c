"""A code's descendants are one range of codes (governance.kernel.codes): the same units as
the prefixes, served by an index range; many parents by a hashed parent key."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.kernel.codes import code_range, collapse, descendants_q, parent_in_q, under_any_q
from grids.models import Community, Grid


def test_ranges_and_collapse():
    assert code_range("110101") == ("110101", "110102")
    assert code_range("1101019") == ("1101019", "110101:")  # past every digit, byte-wise
    assert collapse(["110101001", "110101", "110102001", "", "110101"]) == ["110101", "110102001"]
    with pytest.raises(ValueError):
        code_range("")


@pytest.mark.django_db
def test_descendants_by_range_match_the_prefixes(city):
    for prefix in ("110101", "110101001", "110101001001", "110101002001001", "1101", "110102"):
        expected = set(Grid.objects.filter(code__startswith=prefix).values_list("code", flat=True))
        assert set(Grid.objects.filter(descendants_q("code", prefix)).values_list("code", flat=True)) == expected
    # A code that only starts like another is not its descendant: 110101001 ≠ 1101010011.
    assert not Grid.objects.filter(descendants_q("code", "1101010011")).exists()
    many = [c.code for c in Community.objects.all()] * 10 + [f"1109{i:08d}" for i in range(40)]
    assert set(Grid.objects.filter(parent_in_q("code", many)).values_list("code", flat=True)) == \
        set(Grid.objects.values_list("code", flat=True))
    few = ["110101001002", "110101002"]
    assert set(Grid.objects.filter(under_any_q("code", few)).values_list("code", flat=True)) == \
        {city.grid_b1.code, city.grid_c1.code}
    assert not Grid.objects.filter(under_any_q("code", [])).exists()


@pytest.mark.django_db
def test_no_like_in_the_sql(city):
    with CaptureQueriesContext(connection) as ctx:
        list(Grid.objects.filter(descendants_q("code", "110101001")))
        list(Grid.objects.filter(parent_in_q("code", [f"1101010{i:05d}" for i in range(100)])))
    assert all(" LIKE " not in q["sql"].upper() for q in ctx.captured_queries)
