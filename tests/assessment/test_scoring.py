"""Scoring (DESIGN.md §5): the check figures, each formula on hand-computed data, the
counting rules (deadline month, unit at the deadline, cutoff, exclusions), sums of
daily tallies, ranking and weights."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from governance.assessment import formulas, services
from governance.assessment.models import COUNTERS, DailyTally, MonthlyScore
from governance.assessment.periods import Period
from governance.assessment.selectors import scores_for
from governance.staff.selectors import jurisdiction_for
from tests.assessment.fabricate import (
    add_events,
    at,
    contact,
    dispatch,
    escalate,
    evaluate,
    extend_approve,
    fabricate,
    make,
    resolve,
)

OCT = date(2026, 10, 1)
AFTER_CUTOFF = at(2026, 11, 6)
BEFORE_CUTOFF = at(2026, 11, 3)


def score(kind, code, month=OCT) -> MonthlyScore:
    return MonthlyScore.objects.get(unit_kind=kind, unit_code=code, month=month)


def comparable(rows) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("id", "computed_at")} for r in rows]


def snapshot(month=OCT):
    scores = comparable(MonthlyScore.objects.filter(month=month).order_by("unit_kind", "unit_code").values())
    days = comparable(DailyTally.objects.order_by("unit_kind", "unit_code", "day").values())
    return scores, days


@pytest.mark.django_db
def test_check_figures_of_a_real_monthly_report(city):
    """天门: 972 due, 911 closed → 结案率 93.72%; 737 on time → 按期结案率 75.82%."""
    specs = []
    for i in range(972):
        deadline = at(2026, 10, 1 + i % 31, 18)
        events = [dispatch(city.grid_a1, deadline - timedelta(days=5))]
        if i < 737:
            events.append(resolve(deadline - timedelta(days=1)))
        elif i < 911:
            events.append(resolve(deadline + timedelta(days=1)))
        specs.append(make(place=city.grid_a1, deadline=deadline, events=events))
    fabricate(specs)

    result = services.compute_month(month=OCT, now=AFTER_CUTOFF)

    assert result.final and result.appeals == 972
    for kind, code in (("grid", city.grid_a1.code), ("community", city.comm_a.code),
                       ("street", city.street_a.code), ("district", "110101"), ("city", "110100")):
        row = score(kind, code)
        assert (row.due, row.deferred, row.resolved, row.resolved_on_time) == (972, 0, 911, 737)
        assert row.closure_rate == Decimal("93.72")
        assert row.on_time_rate == Decimal("75.82")
        assert row.final
    assert score("grid", city.grid_a2.code).due == 0


def _small_month(city, place=None):
    """Five appeals of grid A1 due on 20 October, hand-computed in the test below."""
    place = place or city.grid_a1
    sent, deadline = at(2026, 10, 13, 9), at(2026, 10, 20, 18)
    resp = at(2026, 10, 14, 9)
    return fabricate([
        make(place=place, deadline=deadline, response_deadline=resp, events=[
            dispatch(place, sent), contact(at(2026, 10, 13, 10)), resolve(at(2026, 10, 15, 9)),
            evaluate(at(2026, 10, 16), solved=True, rating="satisfied")]),
        make(place=place, deadline=deadline, response_deadline=resp, events=[
            dispatch(place, sent), contact(at(2026, 10, 14, 10)), resolve(at(2026, 10, 21, 9)),
            evaluate(at(2026, 10, 22), solved=True, rating="basically")]),
        make(place=place, deadline=deadline, response_deadline=resp, events=[
            dispatch(place, sent), resolve(at(2026, 10, 16, 9)),
            evaluate(at(2026, 10, 17), solved=False, rating="unsatisfied"),
            resolve(at(2026, 10, 19, 9)), evaluate(at(2026, 10, 20, 10), solved=False, rating="basically")]),
        make(place=place, deadline=deadline, response_deadline=resp, events=[
            dispatch(place, sent), contact(at(2026, 10, 13, 9, 30))]),
        make(place=place, deadline=deadline, response_deadline=resp, events=[
            dispatch(place, sent), contact(at(2026, 10, 13, 12)), resolve(at(2026, 10, 18, 9)),
            evaluate(at(2026, 10, 19), solved=False, rating="unsatisfied")]),
    ])


@pytest.mark.django_db
def test_each_formula_against_hand_computed_figures(city):
    _small_month(city)
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    row = score("grid", city.grid_a1.code)

    assert (row.dispatched, row.responded_in_time) == (5, 3)
    assert row.response_rate == Decimal("60.00")  # contact by the response deadline: 3 of 5
    assert (row.evaluated, row.solved, row.satisfied, row.basically_satisfied) == (4, 2, 1, 2)
    assert row.resolution_rate == Decimal("50.00")  # latest evaluations: 2 solved of 4
    assert row.satisfaction_rate == Decimal("70.00")  # (1 + 0.9 × 2) / 4
    assert (row.due, row.resolved, row.resolved_on_time, row.reworked) == (5, 3, 2, 1)
    assert row.closure_rate == Decimal("60.00")  # the 5th is back in rework: not 办结
    assert row.on_time_rate == Decimal("40.00")
    assert row.rework_rate == Decimal("33.33")
    assert row.composite == Decimal("59.00")  # 100 × (0.1×0.6 + 0.5×0.5 + 0.4×0.7)
    assert row.avg_response_seconds == int(7.375 * 3600)  # (1 + 25 + 0.5 + 3) h / 4
    assert row.avg_resolution_seconds == 128 * 3600  # (48 + 192 + 144) h / 3


def test_a_rate_is_a_percentage_to_two_decimals_half_up_and_none_of_nothing():
    # One rule for every rate the reports show (走访完成率 and 智能分拨's acceptance too).
    assert formulas.rate(1, 3) == Decimal("33.33")
    assert formulas.rate(2, 3) == Decimal("66.67")
    assert formulas.rate(1, 800) == Decimal("0.13")  # 0.125: half up
    assert formulas.rate(3, 3) == Decimal("100.00")
    assert formulas.rate(0, 0) is None and formulas.rate(4, 0) is None


@pytest.mark.django_db
def test_weights_are_settings(city, settings):
    _small_month(city)
    settings.SCORE_WEIGHTS = {"response": "0.2", "resolution": "0.4", "satisfaction": "0.4"}
    settings.SCORE_BASICALLY_SATISFIED_WEIGHT = "0.5"
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    row = score("grid", city.grid_a1.code)
    assert row.satisfaction_rate == Decimal("50.00")  # (1 + 0.5 × 2) / 4
    assert row.composite == Decimal("52.00")  # 100 × (0.2×0.6 + 0.4×0.5 + 0.4×0.5)


@pytest.mark.django_db
def test_an_appeal_counts_for_the_unit_holding_it_at_its_deadline(city):
    deadline = at(2026, 10, 20, 18)
    fabricate([
        # Escalated from grid A1 to its community before the deadline: the community's.
        make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, at(2026, 10, 13)),
            escalate(at(2026, 10, 16), to_level="community", code=city.comm_a.code, from_code=city.grid_a1.code),
            resolve(at(2026, 10, 19))]),
        # Escalated only after its deadline: still grid A1's.
        make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, at(2026, 10, 13)),
            escalate(at(2026, 10, 21), to_level="community", code=city.comm_a.code, from_code=city.grid_a1.code)]),
        # A department's appeal: the department, its district and the city — no street.
        make(place=city.grid_b1, deadline=deadline, events=[
            dispatch(city.chengguan, at(2026, 10, 13)), resolve(at(2026, 10, 14))]),
    ])
    services.compute_month(month=OCT, now=AFTER_CUTOFF)

    grid = score("grid", city.grid_a1.code)
    community = score("community", city.comm_a.code)
    assert (grid.due, grid.resolved) == (1, 0)
    assert (community.due, community.resolved) == (2, 1)  # its own (escalated) + grid A1's
    assert score("department", city.chengguan.code).due == 1
    assert score("street", city.street_a.code).due == 2
    assert score("community", city.comm_a2.code).due == 0
    assert (score("district", "110101").due, score("city", "110100").due) == (3, 3)


@pytest.mark.django_db
def test_deadline_month_and_24h_deadlines(city):
    """A working-day deadline "24:00 on 31 October" is stored as 1 November 00:00 and
    belongs to October; one a minute later belongs to November."""
    fabricate([
        make(place=city.grid_a1, deadline=at(2026, 11, 1, 0, 0), events=[dispatch(city.grid_a1, at(2026, 10, 25))]),
        make(place=city.grid_a1, deadline=at(2026, 11, 1, 0, 1), events=[dispatch(city.grid_a1, at(2026, 10, 25))]),
    ])
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    services.compute_month(month=date(2026, 11, 1), now=at(2026, 11, 20))
    assert score("grid", city.grid_a1.code).due == 1
    assert DailyTally.objects.get(unit_kind="grid", unit_code=city.grid_a1.code, day=date(2026, 10, 31)).due == 1
    november = score("grid", city.grid_a1.code, month=date(2026, 11, 1))
    assert november.due == 1 and november.month_to_date and not november.final


@pytest.mark.django_db
def test_deferred_appeals_leave_the_closure_denominator(city):
    deadline = at(2026, 10, 20, 18)
    fabricate([
        make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, at(2026, 10, 1)), extend_approve(at(2026, 10, 5)), resolve(at(2026, 10, 19))]),
        make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, at(2026, 10, 1)), resolve(at(2026, 10, 19))]),
        make(place=city.grid_a1, deadline=deadline, events=[dispatch(city.grid_a1, at(2026, 10, 1))]),
    ])
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    row = score("grid", city.grid_a1.code)
    assert (row.due, row.deferred, row.resolved) == (3, 1, 1)
    assert row.closure_rate == Decimal("50.00")  # 1 / (3 − 1)


@pytest.mark.django_db
def test_approved_exclusions_leave_the_rates_and_keep_the_reason(city):
    appeals = _small_month(city)
    users = city.users
    # The 4th appeal (never resolved) is malicious; a pending request changes nothing.
    request = services.exclusion_request(actor=users.community_worker, appeal=appeals[3], reason_kind="malicious",
                                         reason="同一人一日内反复恶意投诉")
    services.exclusion_request(actor=users.community_worker, appeal=appeals[4], reason_kind="repeated", reason="重复")
    services.compute_month(month=OCT, now=BEFORE_CUTOFF)
    assert score("grid", city.grid_a1.code).due == 5

    from governance.kernel.errors import ActionForbidden, NotFound

    with pytest.raises(NotFound):
        services.exclusion_decide(actor=users.outsider, exclusion=request, approve=True)
    with pytest.raises(ActionForbidden):
        services.exclusion_decide(actor=users.community_worker, exclusion=request, approve=True)
    services.exclusion_decide(actor=users.street_officer, exclusion=request, approve=True, now=at(2026, 11, 3, 12))
    services.compute_month(month=OCT, now=at(2026, 11, 4))

    row = score("grid", city.grid_a1.code)
    assert (row.excluded, row.due, row.dispatched, row.responded_in_time) == (1, 4, 4, 2)
    assert row.closure_rate == Decimal("75.00")  # 3 / 4
    request.refresh_from_db()
    assert request.reason == "同一人一日内反复恶意投诉" and request.get_reason_kind_display() == "恶意诉求"
    assert request.approved_by == users.street_officer


@pytest.mark.django_db
def test_a_final_month_is_not_changed_by_later_events(city):
    appeals = fabricate([
        make(place=city.grid_a1, deadline=at(2026, 10, 30, 18), events=[
            dispatch(city.grid_a1, at(2026, 10, 25)), contact(at(2026, 10, 25, 13)), resolve(at(2026, 10, 30))]),
        make(place=city.grid_a1, deadline=at(2026, 10, 30, 18), events=[
            dispatch(city.grid_a1, at(2026, 10, 25)), contact(at(2026, 10, 25, 13)), resolve(at(2026, 10, 30))]),
    ])
    services.compute_month(month=OCT, now=BEFORE_CUTOFF)
    assert not score("grid", city.grid_a1.code).final
    assert score("grid", city.grid_a1.code).composite is None  # nobody evaluated yet: not ranked
    # One evaluation before the cutoff (the 5th, 00:00), one after.
    add_events(appeals[0], evaluate(at(2026, 11, 4, 23), rating="satisfied"))
    add_events(appeals[1], evaluate(at(2026, 11, 5, 0, 30), rating="basically"))

    first = services.compute_month(month=OCT, now=AFTER_CUTOFF)
    row = score("grid", city.grid_a1.code)
    assert first.final and row.final and row.evaluated == 1 and row.satisfaction_rate == Decimal("100.00")
    before = snapshot()

    # Another evaluation arrives later; the nightly run leaves the final month alone,
    # and a forced recomputation gives the same rows.
    add_events(appeals[0], evaluate(at(2026, 11, 10), solved=False, rating="unsatisfied"))
    assert services.compute_month(month=OCT, now=at(2026, 11, 12)).skipped
    assert snapshot() == before
    again = services.compute_month(month=OCT, now=at(2026, 11, 12), force=True)
    assert not again.skipped and snapshot() == before


@pytest.mark.django_db
def test_a_custom_range_is_the_sum_of_daily_tallies(city):
    specs = []
    for day in (3, 10, 15, 16, 22, 31):
        deadline = at(2026, 10, day, 18)
        specs.append(make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, deadline - timedelta(days=2)), contact(deadline - timedelta(days=2, hours=-1)),
            resolve(deadline - timedelta(hours=day % 3 * 20)),
            evaluate(deadline + timedelta(hours=1), solved=day % 2 == 0,
                     rating=("satisfied", "basically", "unsatisfied")[day % 3])]))
    fabricate(specs)
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    jur = jurisdiction_for(city.users.community_worker)

    month = scores_for(jurisdiction=jur, period=Period.month(2026, 10), level="grid")
    first = scores_for(jurisdiction=jur, period=Period.range(date(2026, 10, 1), date(2026, 10, 15)), level="grid")
    second = scores_for(jurisdiction=jur, period=Period.parse("2026-10-16..2026-10-31"), level="grid")
    quarter = scores_for(jurisdiction=jur, period=Period.parse("2026Q4"), level="grid")

    m, a, b, q = (next(r for r in t.rows if r.unit_code == city.grid_a1.code) for t in (month, first, second, quarter))
    assert a.due == 3 and b.due == 3
    for name in COUNTERS:
        assert getattr(m, name) == getattr(a, name) + getattr(b, name) == getattr(q, name), name
    assert (m.resolution_rate, m.satisfaction_rate, m.composite) == (q.resolution_rate, q.satisfaction_rate, q.composite)
    # The month's rate comes from the sums, not from the two halves' rates.
    assert m.satisfaction_rate == formulas.measures({n: getattr(m, n) for n in COUNTERS})["satisfaction_rate"]
    assert month.final and not quarter.final  # November and December are not final


@pytest.mark.django_db
def test_ranking_among_peers_with_an_unranked_unit(city):
    deadline = at(2026, 10, 20, 18)

    def appeal(place, rating):
        events = [dispatch(place, at(2026, 10, 13)), contact(at(2026, 10, 13, 13)), resolve(at(2026, 10, 15))]
        if rating:
            events.append(evaluate(at(2026, 10, 16), solved=rating == "satisfied", rating=rating))
        return make(place=place, deadline=deadline, events=events)

    fabricate([
        appeal(city.grid_a1, "basically"), appeal(city.grid_a1, "satisfied"),
        appeal(city.grid_a2, None),  # dispatched but nobody evaluated: shown, not ranked
        appeal(city.grid_b1, "satisfied"),
        appeal(city.grid_c1, "unsatisfied"),
    ])
    services.compute_month(month=OCT, now=AFTER_CUTOFF)

    a1, a2 = score("grid", city.grid_a1.code), score("grid", city.grid_a2.code)
    assert (a1.rank, a1.peer_count, a1.peer_group) == (1, 1, city.comm_a.code)
    assert a2.rank is None and a2.composite is None and a2.due == 1
    assert score("grid", city.grid_b1.code).rank == 1  # alone in its community
    # Communities within their street: 甲二 (all satisfied) above 甲一.
    assert score("community", city.comm_a2.code).rank == 1
    assert score("community", city.comm_a.code).rank == 2
    # Streets within their district and the city.
    street_a, street_b = score("street", city.street_a.code), score("street", city.street_b.code)
    assert (street_a.rank, street_b.rank, street_a.city_rank, street_a.city_peer_count) == (1, 2, 1, 2)
    # The empty district (西城) is shown, not ranked.
    assert score("district", "110102").rank is None and score("district", "110101").rank == 1

    table = scores_for(jurisdiction=jurisdiction_for(city.users.street_officer), period=Period.month(2026, 10),
                       level="grid")
    assert [r.unit_code for r in table.rows] == [city.grid_a1.code, city.grid_b1.code, city.grid_a2.code]
    assert table.rows[-1].rank is None


def test_competition_ranking_shares_ties_and_skips():
    rows = [{"unit_kind": "grid", "unit_code": code, "composite": Decimal(v)}
            for code, v in (("3", "90.00"), ("1", "95.50"), ("2", "90.00"), ("4", "80.00"))]
    rows.append({"unit_kind": "grid", "unit_code": "5", "composite": None})
    ranks = formulas.competition_ranks(rows, group_of=lambda r: "")
    assert ranks == {("grid", "1"): 1, ("grid", "2"): 2, ("grid", "3"): 2, ("grid", "4"): 4}


@pytest.mark.django_db
def test_rank_change_against_the_previous_month(city):
    def appeal(place, month, rating):
        deadline = at(2026, month, 20, 18)
        return make(place=place, deadline=deadline, events=[
            dispatch(place, deadline - timedelta(days=3)), contact(deadline - timedelta(days=3, hours=-1)),
            resolve(deadline - timedelta(days=1)), evaluate(deadline, solved=rating == "satisfied", rating=rating)])

    fabricate([appeal(city.grid_a1, 9, "satisfied"), appeal(city.grid_a2, 9, "unsatisfied"),
               appeal(city.grid_a1, 10, "unsatisfied"), appeal(city.grid_a2, 10, "satisfied")])
    services.compute_month(month=date(2026, 9, 1), now=AFTER_CUTOFF)
    services.compute_month(month=OCT, now=AFTER_CUTOFF)
    rows = {r.unit_code: r for r in scores_for(jurisdiction=jurisdiction_for(city.users.community_worker),
                                               period=Period.month(2026, 10), level="grid").rows}
    assert (rows[city.grid_a2.code].rank, rows[city.grid_a2.code].previous_rank, rows[city.grid_a2.code].rank_change) == (1, 2, 1)
    assert rows[city.grid_a1.code].rank_change == -1
    # The same from daily tallies: a 31-day range against the 31 days before it.
    ranged = scores_for(jurisdiction=jurisdiction_for(city.users.community_worker),
                        period=Period.range(date(2026, 10, 1), date(2026, 10, 31)), level="grid")
    assert [(r.unit_code, r.rank, r.previous_rank, r.rank_change) for r in ranged.rows] == [
        (city.grid_a2.code, 1, 2, 1), (city.grid_a1.code, 2, 1, -1)]
