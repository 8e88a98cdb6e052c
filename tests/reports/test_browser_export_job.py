"""In Chromium: an export above the inline limit answers with the job's page at once
("正在生成… 0%"), the page polls (htmx) until the job is done, then offers the file."""

import pytest

from governance.kernel import exports
from governance.models import ExportJob
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.reports.conftest import make_overdue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_page_polls_until_the_file_is_ready(city, browser_page, live_server, settings,  # noqa: F811
                                                     monkeypatch):
    make_overdue(city)
    settings.EXPORT_INLINE_MAX_ROWS = 1
    monkeypatch.setattr(exports, "_enqueue", lambda job_id: None)  # the worker comes later, below
    page = browser_page
    login_as(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/reports/supervision/?export=csv")
    assert "/exports/" in page.url
    page.wait_for_selector("text=正在生成… 0%")
    job = ExportJob.objects.get()
    exports.job_run(job.pk)
    page.wait_for_selector("text=已生成，共 3 行", timeout=15000)  # the poll swapped the block in
    with page.expect_download() as download:
        page.click("text=下载")
    assert download.value.suggested_filename.startswith("supervision-")
    assert page.console_errors == []
