"""The benchmark seed (issue 24) resumes where a run stopped: chunk by chunk, in
several processes, with the appeals' and events' indexes dropped for the load and
built again after; the city it writes is the one an uninterrupted run writes."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from django.db import connection

import bench.seed as seed
from appeals.models import Appeal, AppealEvent
from bench.tiers import TIERS

TIER = replace(TIERS["T"], appeals=60, defer_indexes=True, batch=20)  # three chunks
NOW = datetime(2026, 11, 23, 4, tzinfo=timezone.utc)


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)",
                       [[Appeal._meta.db_table, AppealEvent._meta.db_table]])
        return {name for (name,) in cursor.fetchall()}


def _disabled_triggers() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) AND tgenabled = 'D'",
                       [[Appeal._meta.db_table, AppealEvent._meta.db_table]])
        return cursor.fetchone()[0]


def _city() -> list[tuple]:
    return list(Appeal.objects.order_by("id").values_list("id", "tracking_code", "state", "created_at", "version"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_seed_stopped_in_its_second_chunk_resumes_to_the_city_of_an_uninterrupted_run(monkeypatch):
    indexes = _indexes()
    write_chunk = seed._chunk_seed

    def stopped_in_chunk_one(chunk):
        if chunk[0] == 1:
            raise RuntimeError("the machine went down")
        return write_chunk(chunk)

    monkeypatch.setattr(seed, "_chunk_seed", stopped_in_chunk_one)
    with pytest.raises(RuntimeError):
        seed.city_seed(TIER, now=NOW, progress_bar=False, workers=2)
    # Chunks are whole or absent; the indexes wait dropped; the triggers wait disabled.
    assert Appeal.objects.count() % 20 == 0 and Appeal.objects.count() < 60
    assert _indexes() < indexes and _disabled_triggers() > 0
    assert not seed.seed_state().get("done")

    monkeypatch.setattr(seed, "_chunk_seed", write_chunk)
    counts = seed.city_seed(TIER, now=datetime(2027, 1, 1, tzinfo=timezone.utc), progress_bar=False, workers=2)
    assert counts["appeals"] == Appeal.objects.count() == 60
    assert counts["events"] == AppealEvent.objects.count()
    assert _indexes() == indexes and _disabled_triggers() == 0
    assert seed.seed_state()["done"] is True
    assert max(Appeal.objects.values_list("created_at", flat=True)) < NOW  # the first run's year, not the second's
    resumed = _city()

    # The same tier written again in one process, with no stop: the same city.
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{AppealEvent._meta.db_table}", "{Appeal._meta.db_table}" CASCADE')
        cursor.execute(f"DELETE FROM {seed.STATE_TABLE} WHERE key <> 'territory'")
    seed.city_seed(TIER, now=NOW, progress_bar=False, workers=1)
    assert _city() == resumed
    # The sequences moved past the written ids: a new appeal's event gets a fresh id.
    appeal = Appeal.objects.order_by("-id").first()
    from appeals import events

    event = events.record(events.Event(appeal_id=appeal.pk, data=events.Note(), from_state=appeal.state,
                                       to_state=appeal.state))
    assert event.id > AppealEvent.objects.exclude(pk=event.pk).order_by("-id").first().id
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {seed.STATE_TABLE}")
