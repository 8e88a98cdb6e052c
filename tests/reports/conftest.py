"""A fabricated October 2026 (and September, for the rank change) in the test city,
scored by the real scoring service; the figures the tests expect are worked out by
hand in the docstring of ``scored``.
"""

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from appeals.enums import AppealState, EscalationLevel, Rating
from appeals.models import Appeal
from governance.assessment.flows import flows_rebuild
from governance.assessment.services import compute_month
from tests.appeals.factories import grid_category, receive
from tests.assessment.fabricate import at, contact, dispatch, evaluate, fabricate, make, resolve

NOW = at(2026, 11, 20)  # after the cutoff: October and September are final


def _spec(grid, *, day, contact_day=None, resolve_day=None, rating=None, solved=True, deadline_day=None):
    events = [dispatch(grid, at(2026, day[0], day[1], 10))]
    if contact_day:
        events.append(contact(at(2026, *contact_day, 11)))
    if resolve_day:
        events.append(resolve(at(2026, *resolve_day, 15)))
    if rating:
        events.append(evaluate(at(2026, *resolve_day, 18) + timedelta(days=1), solved=solved, rating=rating))
    return make(place=grid, deadline=at(2026, *deadline_day, 12), events=events)


@pytest.fixture
def scored(city):
    """October (deadlines), by community:

    甲一社区 (A1, A2, A3 — grids A1/A2):
      A1 contact in time, resolved 10-03 ≤ deadline 10-10, 满意 solved
      A2 contact 10-04 > response deadline 10-03, resolved 10-20 > deadline 10-12, 基本满意 solved
      A3 no contact, not resolved, deadline 10-15 (overdue)
      → 响应率 1/3 = 33.33, 解决率 2/2 = 100, 满意率 (1 + 0.9)/2 = 95.00,
        结案率 2/3 = 66.67, 按期结案率 1/3 = 33.33, 返工率 0/2 = 0,
        综合得分 100 × (0.1 × 1/3 + 0.5 × 1 + 0.4 × 0.95) = 91.33
    甲二社区 (B1, B2 — grid B1):
      B1 contact in time, resolved, 不满意 unsolved → back in work (rework), deadline 10-10
      B2 contact in time, resolved 10-04, 满意 solved, deadline 10-12
      → 响应率 100, 解决率 50, 满意率 50, 结案率 1/2 = 50, 综合得分 10 + 25 + 20 = 55.00
    乙一社区: no appeals — shown, not ranked.
    September: 甲一社区 one unsatisfied appeal (composite 10), 甲二社区 one satisfied (100),
    so in October 甲一社区 moved up one place (↑1) and 甲二社区 down (↓1).
    """
    category = grid_category()
    a1, a2, a3 = city.grid_a1, city.grid_a1, city.grid_a2
    b = city.grid_b1
    specs = [
        _spec(a1, day=(10, 1), contact_day=(10, 1), resolve_day=(10, 3), rating=Rating.SATISFIED, deadline_day=(10, 10)),
        _spec(a2, day=(10, 2), contact_day=(10, 4), resolve_day=(10, 20), rating=Rating.BASICALLY, deadline_day=(10, 12)),
        _spec(a3, day=(10, 5), deadline_day=(10, 15)),
        _spec(b, day=(10, 1), contact_day=(10, 1), resolve_day=(10, 2), rating=Rating.UNSATISFIED, solved=False,
              deadline_day=(10, 10)),
        _spec(b, day=(10, 3), contact_day=(10, 3), resolve_day=(10, 4), rating=Rating.SATISFIED, deadline_day=(10, 12)),
        # September
        _spec(a1, day=(9, 1), contact_day=(9, 1), resolve_day=(9, 3), rating=Rating.UNSATISFIED, solved=False,
              deadline_day=(9, 10)),
        _spec(b, day=(9, 1), contact_day=(9, 1), resolve_day=(9, 3), rating=Rating.SATISFIED, deadline_day=(9, 10)),
    ]
    appeals = fabricate(specs)
    # The appeal fields the lists read, coherent with the events above.
    states = [AppealState.CLOSED, AppealState.CLOSED, AppealState.IN_PROGRESS, AppealState.IN_PROGRESS,
              AppealState.CLOSED, AppealState.IN_PROGRESS, AppealState.CLOSED]
    for appeal, spec, state in zip(appeals, specs, states, strict=True):
        fields = {"category": category, "state": state, "building": None}
        for data, when, _to in spec["events"]:
            if data.action == "resolve":
                fields["resolved_at"] = when
            if data.action == "evaluate":
                fields["rating"], fields["solved"] = data.rating, data.solved
                if data.rating == Rating.UNSATISFIED:
                    fields["rework_count"], fields["resolved_at"] = 1, None
        Appeal.objects.filter(pk=appeal.pk).update(**fields)
    compute_month(month=date(2026, 9, 1), now=NOW)
    compute_month(month=date(2026, 10, 1), now=NOW)
    flows_rebuild(first=date(2026, 9, 1), last=date(2026, 11, 20), now=NOW, chunk_days=31)
    return appeals


class TableParser(HTMLParser):
    """The cells' text of every <table data-table=…> on a page: {key: [header, rows…]}."""

    def __init__(self):
        super().__init__()
        self.tables, self._key, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("data-table"):
            self._key = attrs["data-table"]
            self.tables[self._key] = []
        elif self._key and tag == "tr":
            self._row = []
        elif self._key and self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._key = None
        elif self._key and tag == "tr" and self._row is not None:
            self.tables[self._key].append(self._row)
            self._row = None
        elif self._key and tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip().rstrip(" ▲▼"))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = TableParser()
    parser.feed(html)
    return parser.tables


def make_overdue(city) -> dict:
    """A1: 3 days overdue at the district 督办; A2: 1 day overdue; C1 (乙一社区) 10 days
    overdue; A3: not yet due."""
    grid_category()
    now = timezone.now()
    appeals = {}
    for name, building, days in (("a1", city.building_a1, 3), ("a2", city.building_a2, 1),
                                 ("c1", city.building_c1, 10), ("a3", city.building_a1, -2)):
        appeal = receive(city, category=grid_category(), building=building)
        level = EscalationLevel.DISTRICT if name == "a1" else EscalationLevel.GRID
        Appeal.objects.filter(pk=appeal.pk).update(
            deadline=now - timedelta(days=days, hours=1), state=AppealState.IN_PROGRESS, escalation_level=level,
        )
        appeals[name] = Appeal.objects.get(pk=appeal.pk)
    return appeals


@pytest.fixture
def overdue(city):
    return make_overdue(city)
