"""Exports of appeals-sized lists (issue 23), on the 督办 list: the CSV streams from a
server-side cursor inside a transaction; above the inline limits an export job writes the
file, its page shows the progress, and its link serves the requester's scope only, is
access-logged and expires."""

import csv
import io
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from appeals.services import appeal_supervise
from governance.enums import AccessAction, ExportState, Role
from governance.kernel import export_writers, exports
from governance.models import AccessLog, ExportJob
from governance.reports import supervision
from governance.reports.supervision import SupervisionFilters, supervision_page
from governance.reports.tables import cell_text
from governance.staff.selectors import jurisdiction_for
from tests.factories import UserFactory, post

pytestmark = pytest.mark.django_db

URL = "/reports/supervision/"


def _csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith("\ufeff".encode())  # Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _expected(city) -> list[list[str]]:
    """The list as the page prints it (model instances, page by page): the header and rows."""
    table = supervision_page(jurisdiction=jurisdiction_for(city.users.supervisor), filters=SupervisionFilters()).table
    return [[c.label for c in table.columns], *([cell_text(c, r) for c in table.columns] for r in table.rows)]


@pytest.mark.postgres
def test_the_csv_streams_the_page_rows_from_a_server_side_cursor(city, overdue, login, monkeypatch):
    """The rows come from a named (server-side) cursor that is not WITH HOLD: PostgreSQL
    sends rows as they are fetched instead of materialising the result first."""
    seen = []
    original = supervision._row

    def spy(**kwargs):
        if not seen:
            with connection.cursor() as cursor:
                cursor.execute("SELECT name, is_holdable FROM pg_cursors")
                seen.extend(cursor.fetchall())
        return original(**kwargs)

    monkeypatch.setattr(supervision, "_row", spy)
    appeal_supervise(actor=city.users.supervisor, appeal=overdue["a1"], note="请尽快办结")
    response = login(city.users.supervisor).get(URL + "?export=csv")
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert first.startswith("\ufeff".encode()) and not seen  # the header goes before the query runs
    rows = _csv(first + b"".join(chunks))
    assert rows == _expected(city)
    assert [r[0] for r in rows[1:]] == [overdue[k].tracking_code for k in ("c1", "a1", "a2")]
    assert [r[-1] for r in rows[1:]] == ["0", "1", "0"]  # 督办意见数
    assert seen and all(not holdable for _name, holdable in seen), seen
    assert any(name.startswith("_django_curs_") for name, _h in seen), seen


def test_the_csv_counts_within_the_limit_and_keeps_cells_safe(city, overdue, login, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 3  # exactly the list: inline
    from appeals.models import Category

    Category.objects.filter(pk=overdue["a1"].category_id).update(name="=HYPERLINK(\"http://evil.example\")")
    response = login(city.users.supervisor).get(URL + "?export=csv")
    rows = _csv(b"".join(response.streaming_content))
    assert len(rows) == 4 and rows[1][1] == "'=HYPERLINK(\"http://evil.example\")"


def _job_for(response) -> ExportJob:
    assert response.status_code == 302 and response["Location"].startswith("/exports/"), response
    return ExportJob.objects.get(token=response["Location"].split("/")[2])


def test_above_the_limit_a_job_writes_the_file_for_the_same_scope_only(
        city, overdue, login, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_INLINE_MAX_ROWS = 2
    client = login(city.users.supervisor)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.get(URL + "?export=csv&min_days=0")
    job = _job_for(response)
    assert job.state == ExportState.QUEUED and job.total == 3 and job.fmt == "csv"
    page = client.get(response["Location"])
    assert "正在生成… 0%" in page.content.decode() and 'hx-trigger="every 2s"' in page.content.decode()
    for callback in queued:  # the task, run as the worker would (eagerly here)
        callback()
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.done_rows == 3 and exports.percent(job) == 100
    progress = client.get(f"/exports/{job.token}/progress/").content.decode()
    assert "已生成，共 3 行" in progress and "hx-trigger" not in progress

    download = client.get(f"/exports/{job.token}/download/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith('attachment; filename="supervision-')
    assert _csv(b"".join(download.streaming_content)) == _expected(city)
    log = AccessLog.objects.get(subject=f"export:supervision:{job.pk}")
    assert log.user == city.users.supervisor and log.action == AccessAction.EXPORT and log.record_count == 3

    # Another city-wide supervisor reaches the same rows: served. A street officer, the
    # district supervisor: another scope, so the job does not exist for them.
    colleague = UserFactory(username="supervisor2")
    post(colleague, Role.SUPERVISOR)
    assert login(colleague).get(f"/exports/{job.token}/download/").status_code == 200
    for outsider in (city.users.street_officer, city.users.district_supervisor, city.users.volunteer):
        other = login(outsider)
        for path in ("", "progress/", "download/"):
            assert other.get(f"/exports/{job.token}/{path}").status_code == 404, (outsider, path)
    assert AccessLog.objects.filter(subject=f"export:supervision:{job.pk}").count() == 2


def test_an_expired_link_says_so_and_the_purge_deletes_the_file(
        city, overdue, login, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_XLSX_INLINE_MAX_ROWS = 1
    client = login(city.users.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job = _job_for(client.get(URL + "?export=xlsx"))
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.fmt == "xlsx"
    path = exports.file_path(job)
    assert path.exists()
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    for url in (f"/exports/{job.token}/", f"/exports/{job.token}/download/"):
        response = client.get(url)
        assert response.status_code == 410
        assert "下载链接已过期（生成后 24 小时内有效）" in response.content.decode() and "重新导出" in response.content.decode()
    assert not AccessLog.objects.filter(subject=f"export:supervision:{job.pk}").exists()
    assert exports.jobs_purge()["expired"] == 1
    assert not path.exists() and ExportJob.objects.get(pk=job.pk).state == ExportState.EXPIRED
    assert client.get(f"/exports/{job.token}/download/").status_code == 410


def test_xlsx_sheets_split_at_the_per_sheet_limit(city, overdue, login, settings):
    settings.EXPORT_XLSX_SHEET_MAX_ROWS = 2
    response = login(city.users.supervisor).get(URL + "?export=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["督办清单", "督办清单 (2)"]
    expected = _expected(city)
    found = []
    for sheet in workbook.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0][0].startswith("督办清单 · 数据截至") and rows[1] == expected[0]  # each sheet has the head
        assert sheet.freeze_panes == "A3"
        found += rows[2:]
    assert [r[0] for r in found] == [r[0] for r in expected[1:]]
    assert [len(list(s.iter_rows())) - 2 for s in workbook.worksheets] == [2, 1]


def test_a_failed_job_says_so(city, overdue, login, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.EXPORT_INLINE_MAX_ROWS = 1

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(export_writers._writers, "supervision", broken)
    client = login(city.users.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job = _job_for(client.get(URL + "?export=csv"))
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and "disk full" in job.error
    assert "生成失败" in client.get(f"/exports/{job.token}/").content.decode()
    assert list(exports.export_dir().iterdir()) == []


@pytest.mark.redis
@pytest.mark.live_celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_the_file_and_the_progress_reaches_100(city, login, settings):
    from celery.contrib.testing.worker import start_worker

    from governance.celery import app
    from tests.reports.conftest import make_overdue

    make_overdue(city)
    settings.EXPORT_INLINE_MAX_ROWS = 2
    settings.EXPORT_XLSX_INLINE_MAX_ROWS = 2
    queue = f"test-{uuid.uuid4().hex[:12]}"  # our own queue: no other worker takes it
    settings.EXPORT_QUEUE = queue
    client = login(city.users.supervisor)
    previous = app.amqp.queues._consume_from
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", queues=[queue], shutdown_timeout=20):
            job = _job_for(client.get(URL + "?export=xlsx"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.state in (ExportState.DONE, ExportState.FAILED):
                    break
                time.sleep(0.2)
    finally:
        app.amqp.queues._consume_from = previous
        with app.connection_for_write() as conn:
            bound = app.amqp.queues[queue](conn.default_channel)
            bound.declare()
            bound.delete()
    assert job.state == ExportState.DONE, job.error
    assert exports.progress(job) == (3, 3) and exports.percent(job) == 100
    assert "已生成，共 3 行" in client.get(f"/exports/{job.token}/").content.decode()
    response = client.get(f"/exports/{job.token}/download/")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert len(list(sheet.iter_rows())) == 2 + 3


def test_gunicorn_runs_threaded_workers_whose_timeout_the_inline_limits_fit(settings):
    """A sync worker is killed after ``timeout`` seconds inside one request; gthread's is not,
    and the inline exports end well within it anyway at the benchmark's slowest rates
    (CSV >= 50,000 rows/s, XLSX >= 10,000 rows/s, plus a second to zip)."""
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "governance" / "gunicorn_conf.py"))
    assert config["worker_class"] == "gthread" and config["threads"] >= 2
    assert settings.EXPORT_INLINE_MAX_ROWS / 50_000 < config["timeout"] / 2
    assert settings.EXPORT_XLSX_INLINE_MAX_ROWS / 10_000 + 1 < config["timeout"] / 2
