"""Archiving past years (appeals.archive, manage.py archive_year): only the finished appeals
of the year move, with every row that names them; hot + archive counts stay equal, a row
is never in both places; a stopped run resumes; a recent year is refused; the stored
scores and the report pages stay; the tracking page and the staff's page say "archived";
one appeal comes back with --restore. Run on SQLite and on PostgreSQL (DATABASE_URL)."""

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appeals import archive
from appeals.enums import AppealState, AttachmentKind, ExtensionState
from appeals.models import Appeal, AppealAttachment, AppealCoHandler, AppealEvent, ArchivedYear, ExtensionRequest
from appeals.open311.models import ApiKey, Open311Request
from appeals.suggest.models import CategorySuggestion, SuggestionPlace
from appeals.visits.models import Visit
from governance.assessment.enums import ExclusionReason
from governance.assessment.flows import flows_rebuild
from governance.assessment.models import DailyFlow, MonthlyScore, ScoreExclusion
from governance.assessment.services import compute_month
from governance.kernel.clock import CHINA
from governance.kernel.errors import ApplicationError
from tests.appeals.factories import grid_category, receive
from tests.reports.conftest import page_tables, scored  # noqa: F401 (scored: a fixture)

pytestmark = pytest.mark.django_db


def _appeal(city, *, year: int, state=AppealState.CLOSED, **kw) -> Appeal:
    appeal = receive(city, category=grid_category() if not Appeal.objects.exists() else Appeal.objects.first().category,
                     **kw)
    Appeal.objects.filter(pk=appeal.pk).update(state=state, created_at=datetime(year, 6, 1, 10, tzinfo=CHINA))
    appeal.refresh_from_db()
    return appeal


def _with_every_row(city, appeal: Appeal, *, meeting_by) -> Appeal:
    """One row of every table that names an appeal (ARCHIVED_RELATIONS)."""
    from appeals.deliberation.models import Meeting, MeetingAppeal

    event = appeal.events.first()
    AppealAttachment.objects.create(appeal=appeal, event=event, image="appeals/2022/06/x.jpg", kind=AttachmentKind.INTAKE)
    AppealCoHandler.objects.create(appeal=appeal, department=city.chengguan)
    ExtensionRequest.objects.create(appeal=appeal, level="grid", reason="需要协调", state=ExtensionState.APPROVED,
                                    previous_deadline=timezone.now(), requested_deadline=timezone.now())
    ScoreExclusion.objects.create(appeal=appeal, reason_kind=ExclusionReason.REPEATED, reason="重复")
    CategorySuggestion.objects.create(appeal=appeal, place=SuggestionPlace.DISPATCH, model_version=1, confidence=0.5,
                                      accepted=True)
    Open311Request.objects.create(appeal=appeal, api_key=ApiKey.issue(name=f"k{appeal.pk}")[0])
    meeting = Meeting.objects.create(community=city.comm_a, kind="hearing", topic="停车难", place="议事厅",
                                     starts_at=timezone.now(), scheduled_by=meeting_by)
    MeetingAppeal.objects.create(meeting=meeting, appeal=appeal, linked_by=meeting_by)
    visit = Visit.objects.create(household=city.household_a1, territory_code=city.grid_a1.code,
                                 visited_at=timezone.now(), visitor=city.users.grid_worker, visitor_label="网格员",
                                 method="home", counts_done=True)
    visit.appeals.add(appeal)
    return appeal


def _counts(ids: list[int]) -> dict[str, tuple[int, int]]:
    """(hot, archived) rows naming the appeals ``ids``, per table."""
    archive.ensure_archive_tables()
    marks = ", ".join(["%s"] * len(ids))
    counts = {}
    with connection.cursor() as cursor:
        for model, column in archive._tables():
            table = model._meta.db_table
            pair = []
            for name in (connection.ops.quote_name(table), archive.archive_table(table)):
                cursor.execute(f"SELECT COUNT(*) FROM {name} WHERE {connection.ops.quote_name(column)} IN ({marks})",
                               ids)
                pair.append(cursor.fetchone()[0])
            counts[table] = tuple(pair)
    return counts


def test_every_relation_of_appeal_is_archived_or_kept_on_purpose():
    """A new foreign key to Appeal fails here until appeals.archive handles it."""
    names = {r.get_accessor_name() for r in Appeal._meta.related_objects}
    assert archive.unhandled_relations() == []
    assert names == set(archive.ARCHIVED_RELATIONS) | set(archive.KEPT_RELATIONS)  # no stale name either
    # The rows that move are named only by rows that move with them (an attachment names its event).
    moved = {model for model, _column in archive._tables()}
    for model in moved - {Appeal}:
        assert {r.related_model for r in model._meta.related_objects} <= moved, model


def test_archive_table_names():
    table = archive.archive_table("appeals_appeal")
    assert table == ('"archive"."appeals_appeal"' if connection.vendor == "postgresql" else '"archive__appeals_appeal"')


@pytest.mark.postgres
def test_postgresql_archive_tables_live_in_their_schema_without_foreign_keys():
    archive.ensure_archive_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'archive'")
        assert cursor.fetchone()[0] == len(archive._tables())
        cursor.execute("SELECT COUNT(*) FROM information_schema.table_constraints WHERE table_schema = 'archive' "
                       "AND constraint_type IN ('FOREIGN KEY', 'PRIMARY KEY', 'UNIQUE')")
        assert cursor.fetchone()[0] == 0


def test_only_finished_appeals_of_the_year_move_with_all_their_rows(city):
    closed = _with_every_row(city, _appeal(city, year=2022), meeting_by=city.users.community_worker)
    declined = _appeal(city, year=2022, state=AppealState.DECLINED)
    open_ = _appeal(city, year=2022, state=AppealState.IN_PROGRESS)
    other_year = _appeal(city, year=2021)
    # Merged into an appeal that moves: moves with it. Merged into (by an open one): stays.
    merged = _appeal(city, year=2022, state=AppealState.DECLINED)
    Appeal.objects.filter(pk=merged.pk).update(merged_into=closed)
    target = _appeal(city, year=2022)
    Appeal.objects.filter(pk=open_.pk).update(merged_into=target)
    ids = [a.pk for a in (closed, declined, open_, other_year, merged, target)]
    events_before = AppealEvent.objects.filter(appeal__in=ids).count()

    dry = archive.archive_year(year=2022, dry_run=True)
    assert (dry.appeals, dry.open_appeals, dry.kept) == (3, 1, 1)
    assert not ArchivedYear.objects.exists()

    result = archive.archive_year(year=2022, batch=2)
    assert (result.appeals, result.open_appeals, result.kept) == (3, 1, 1)
    moved = [closed.pk, declined.pk, merged.pk]
    assert set(Appeal.objects.filter(pk__in=ids).values_list("pk", flat=True)) == {open_.pk, other_year.pk, target.pk}
    counts = _counts(moved)
    assert all(hot == 0 and cold >= 1 for hot, cold in counts.values()), counts  # every table, nothing left behind
    assert counts["appeals_appeal"] == (0, 3)
    stayed = _counts([open_.pk, other_year.pk, target.pk])
    assert all(cold == 0 for _hot, cold in stayed.values()), stayed
    # Hot + archive equal what there was, and the events' count is recorded.
    assert AppealEvent.objects.filter(appeal__in=ids).count() + counts["appeals_appealevent"][1] == events_before
    year = ArchivedYear.objects.get(year=2022)
    assert (year.appeals, year.events) == (3, counts["appeals_appealevent"][1]) == (3, result.events)
    # Running again moves nothing and changes no count.
    again = archive.archive_year(year=2022)
    assert (again.appeals, again.events) == (0, 0)
    assert _counts(moved) == counts


@pytest.fixture
def dropped_archive():
    """A test that commits leaves no archive rows behind (a flush empties the models' tables only)."""
    yield
    with connection.cursor() as cursor:
        for model, _column in archive._tables():
            cursor.execute(f"DROP TABLE IF EXISTS {archive.archive_table(model._meta.db_table)}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("dropped_archive")
def test_a_run_stopped_inside_a_batch_resumes_without_losing_or_doubling_a_row(city):
    appeals = [_appeal(city, year=2022) for _i in range(5)]
    ids = [a.pk for a in appeals]
    events = AppealEvent.objects.filter(appeal__in=ids).count()
    calls = []

    def stop_in_second_batch(moved):
        calls.append(moved)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as an operator's Ctrl-C would, after the batch's rows moved

    with pytest.raises(KeyboardInterrupt):
        archive.archive_year(year=2022, batch=2, on_batch=stop_in_second_batch)
    counts = _counts(ids)
    assert counts["appeals_appeal"] == (3, 2)  # the first batch committed, the second rolled back
    assert sum(counts["appeals_appealevent"]) == events
    assert ArchivedYear.objects.get(year=2022).appeals == 2

    result = archive.archive_year(year=2022, batch=2)
    assert result.appeals == 3
    counts = _counts(ids)
    assert counts["appeals_appeal"] == (0, 5)
    assert counts["appeals_appealevent"] == (0, events)
    assert (ArchivedYear.objects.get(year=2022).appeals, ArchivedYear.objects.get(year=2022).events) == (5, events)


def test_a_year_not_old_enough_is_refused_naming_the_setting(city, settings):
    this_year = timezone.now().astimezone(CHINA).year
    _appeal(city, year=this_year - 3)
    with pytest.raises(CommandError, match="APPEAL_ARCHIVE_AFTER_YEARS = 3"):
        call_command("archive_year", str(this_year - 3), stdout=StringIO())
    assert not ArchivedYear.objects.exists()
    settings.APPEAL_ARCHIVE_AFTER_YEARS = 2
    out = StringIO()
    call_command("archive_year", str(this_year - 3), verbosity=0, stdout=out)
    assert f"{this_year - 3} 年：已移动诉求 1 件" in out.getvalue()


@pytest.mark.usefixtures("scored")
def test_stored_scores_flows_and_report_pages_stay(city, login):
    page = "/reports/?period=2026-10&level=community"
    before = page_tables(login(city.users.supervisor).get(page).content.decode())
    scores = list(MonthlyScore.objects.order_by("pk").values())
    flows = list(DailyFlow.objects.order_by("pk").values())
    assert scores and flows

    result = archive.archive_year(year=2026, now=datetime(2030, 1, 2, tzinfo=CHINA))
    assert (result.appeals, result.open_appeals) == (4, 3)  # the fixture's closed ones; the open ones stay
    assert list(MonthlyScore.objects.order_by("pk").values()) == scores
    assert list(DailyFlow.objects.order_by("pk").values()) == flows
    assert page_tables(login(city.users.supervisor).get(page).content.decode()) == before
    # Recounting would replace them with smaller figures: refused, or skipped.
    with pytest.raises(ApplicationError, match="已归档"):
        compute_month(month=date(2026, 10, 1), now=datetime(2030, 1, 2, tzinfo=CHINA), force=True)
    with pytest.raises(ApplicationError, match="已归档"):
        compute_month(month=date(2027, 1, 1), now=datetime(2030, 1, 2, tzinfo=CHINA))  # the year after
    flows_rebuild(first=date(2026, 9, 1), last=date(2026, 12, 31), now=datetime(2030, 1, 2, tzinfo=CHINA))
    assert list(DailyFlow.objects.order_by("pk").values()) == flows
    call_command("rebuild_flows", "--from", "2026-09-01", "--to", "2026-12-31", verbosity=0, stdout=StringIO())
    assert list(DailyFlow.objects.order_by("pk").values()) == flows


def test_tracking_page_and_staff_page_say_archived_and_restore_brings_it_back(city, client, login):
    appeal = _appeal(city, year=2022)
    events = appeal.events.count()
    archive.archive_year(year=2022)

    track = reverse("public:track")
    response = client.post(track, {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    text = response.content.decode()
    assert "2022 年" in text and "已归档" in text and "联系" in text
    assert "5678" not in text.replace('value="5678"', "") and "王建国" not in text
    wrong = client.post(track, {"tracking_code": appeal.tracking_code, "phone_last4": "0000"}).content.decode()
    assert "已归档" not in wrong and "不正确" in wrong  # the digits still guard it

    detail = reverse("appeals:detail", args=[appeal.tracking_code])
    response = login(city.users.community_worker).get(detail)
    assert response.status_code == 404 and "2022 年" in response.content.decode()
    outside = login(city.users.outsider).get(detail)
    assert outside.status_code == 404 and "已归档" not in outside.content.decode()

    out = StringIO()
    call_command("archive_year", "--restore", appeal.tracking_code.lower(), stdout=out)
    assert "已恢复 2022 年" in out.getvalue()
    restored = Appeal.objects.get(pk=appeal.pk)
    assert (restored.tracking_code, restored.state, restored.events.count()) == (appeal.tracking_code,
                                                                                 AppealState.CLOSED, events)
    assert _counts([appeal.pk])["appeals_appealevent"] == (events, 0)
    assert ArchivedYear.objects.get(year=2022).appeals == 0
    assert login(city.users.community_worker).get(detail).status_code == 200
    with pytest.raises(CommandError, match="归档中没有"):
        call_command("archive_year", "--restore", appeal.tracking_code, stdout=StringIO())


def test_restoring_an_appeal_with_every_row(city):
    appeal = _with_every_row(city, _appeal(city, year=2022), meeting_by=city.users.community_worker)
    before = _counts([appeal.pk])
    archive.archive_year(year=2022)
    archive.restore(tracking_code=appeal.tracking_code)
    assert _counts([appeal.pk]) == before
    assert Visit.objects.filter(appeals=appeal).count() == 1
    assert appeal.open311.api_key_id and appeal.meeting_links.count() == 1
    assert timezone.now() - ArchivedYear.objects.get(year=2022).archived_at < timedelta(minutes=5)


def test_a_year_with_only_open_appeals_moves_nothing_and_freezes_nothing(city):
    _appeal(city, year=2022, state=AppealState.AWAITING_EVALUATION)
    result = archive.archive_year(year=2022)
    assert (result.appeals, result.open_appeals) == (0, 1)
    assert not ArchivedYear.objects.exists() and archive.frozen_years() == set()
