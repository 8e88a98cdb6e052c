"""Exports too large to answer inline (issue 23): a Celery job writes the file, a page shows
its progress, and its link serves the file for a while.

- ``inline_limit(fmt)``: the rows a request may write itself — a CSV streams from a
  server-side cursor up to EXPORT_INLINE_MAX_ROWS; an XLSX, zipped only when saved, up to
  EXPORT_XLSX_INLINE_MAX_ROWS. The caller counts up to the limit (``LIMIT n + 1``, so the
  count is bounded too) and asks for a job above it.
- ``job_create``: the job row, queued after the commit. The requester's scope (what their
  jurisdiction reaches, ``Jurisdiction.scope_key``) is stored with it: the download is
  served to the requester or an account of the same scope, nobody else.
- ``job_run`` (the worker): claims the job (queued → running, conditionally: run twice, it
  writes once), calls the writer registered for its kind with the file and a progress
  counter, and stores the file under EXPORT_DIR for EXPORT_FILE_HOURS.
- Progress goes to the shared cache, not the job's row: the writer reads its rows inside
  one transaction (a server-side cursor lives only there), so no row it updated would be
  seen by the page before the end.
- ``jobs_purge`` (beat): expired files are deleted and their jobs marked expired (the link
  then says so); stale queued jobs (a broker that was down) are queued again.

Writers are registered by the layer that owns the data (governance.kernel.export_writers, in
its AppConfig.ready): the kernel imports no app.
"""

import logging
import os
import secrets
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.enums import ExportState
from governance.kernel import replica, shared_cache
from governance.kernel.export_writers import writer_for
from governance.models import ExportJob

logger = logging.getLogger(__name__)

CSV, XLSX = "csv", "xlsx"
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A queued job that no worker took for this long is queued again by the purge.
STALE_QUEUED = timedelta(minutes=10)

def inline_limit(fmt: str) -> int:
    return settings.EXPORT_XLSX_INLINE_MAX_ROWS if fmt == XLSX else settings.EXPORT_INLINE_MAX_ROWS


@contextmanager
def streaming_transaction():
    """The transaction an export reads its rows in: a server-side cursor lives only inside
    one (in autocommit Django declares it WITH HOLD, and PostgreSQL materialises the whole
    result before the first row). Without JIT on PostgreSQL: an export's query is costed
    high enough for it, and compiling took seconds (measured at tier M) before the first
    row, for a query whose time is in fetching and printing rows. On the database the rows
    are read from: the replica inside ``replica_reads()`` (the router then sends the
    stream's queries there, since the primary holds no transaction open)."""
    alias = replica.read_alias()
    with transaction.atomic(using=alias):
        connection = transaction.get_connection(alias)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def export_dir() -> Path:
    path = Path(settings.EXPORT_DIR or Path(settings.MEDIA_ROOT) / "private" / "exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job: ExportJob) -> Path:
    return export_dir() / job.file_name


def _progress_key(job_id: int) -> str:
    return f"export:{job_id}:rows"


class Progress:
    """Rows written so far, told to the shared cache about every 1 % (and every 5,000 rows
    at least), so that the page's poll shows it while the writer's transaction is open."""

    def __init__(self, job: ExportJob):
        self.job_id = job.pk
        self.total = job.total
        self.done = 0
        self._next = 0

    def set_total(self, total: int) -> None:
        self.total = total
        shared_cache.put(_progress_key(self.job_id), (0, total), 86400, what="export progress")

    def step(self, rows: int = 1) -> None:
        self.done += rows
        if self.done >= self._next:
            shared_cache.put(_progress_key(self.job_id), (self.done, self.total), 86400, what="export progress")
            self._next = self.done + max(min(self.total // 100, 50_000), 5_000)


def progress(job: ExportJob) -> tuple[int, int]:
    """(rows written, total) of a running job: the cache's figures, else the row's."""
    found = shared_cache.get(_progress_key(job.pk), what="export progress")
    if found:
        return int(found[0]), int(found[1]) or job.total
    return job.done_rows, job.total


def percent(job: ExportJob) -> int:
    if job.state == ExportState.DONE:
        return 100
    done, total = progress(job)
    return min(99, done * 100 // total) if total else 0


def job_create(*, user, scope: str, kind: str, fmt: str, params: dict, title: str, download_name: str,
               total: int = 0) -> ExportJob:
    """The job row, and the task queued once it is committed (the purge queues it again if
    the broker did not take it)."""
    writer_for(kind)  # a kind nobody writes fails here, not in the worker
    job = ExportJob.objects.create(
        token=secrets.token_urlsafe(24), user=user, scope=scope[:200], kind=kind, fmt=fmt, params=params,
        title=title[:200], download_name=download_name[:200], total=total,
        expires_at=timezone.now() + timedelta(hours=settings.EXPORT_FILE_HOURS),
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from governance.kernel.tasks import export_run

    try:
        export_run.apply_async(kwargs={"job_id": job_id}, queue=settings.EXPORT_QUEUE or None)
    except Exception:  # the broker is down: the purge's catch-up queues it again
        logger.warning("export job %s: could not queue it; the purge will", job_id, exc_info=True)


def job_run(job_id: int) -> str:
    """Write the job's file. Steps: 1. claim it (queued → running; another worker's claim
    wins, and this run returns); 2. the kind's writer writes ``<token>.part``; 3. renamed
    to its name, the job is done with its row count and size; on an error, failed with
    the message (the page says so) and no file left behind."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, started_at=timezone.now())
    if not claimed:
        return "not queued"
    job = ExportJob.objects.get(pk=job_id)
    name = f"{job.token}.{job.fmt}"
    part = export_dir() / f"{job.token}.part"
    counter = Progress(job)
    try:
        with open(part, "wb") as out:
            rows = writer_for(job.kind)(job=job, out=out, progress=counter)
        os.replace(part, export_dir() / name)
    except Exception as exc:
        logger.exception("export job %s (%s) failed", job_id, job.kind)
        part.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job_id).update(state=ExportState.FAILED, error=str(exc)[:500],
                                                   finished_at=timezone.now())
        return "failed"
    shared_cache.put(_progress_key(job_id), (rows, rows), 86400, what="export progress")
    ExportJob.objects.filter(pk=job_id).update(
        state=ExportState.DONE, file_name=name, done_rows=rows, total=max(rows, counter.total or 0),
        size=(export_dir() / name).stat().st_size, finished_at=timezone.now())
    return "done"


def is_expired(job: ExportJob, now=None) -> bool:
    return job.state == ExportState.EXPIRED or (now or timezone.now()) >= job.expires_at


def jobs_purge(now=None) -> dict:
    """Delete the files of expired jobs (and any file no job names), mark the jobs expired
    (their link says so), delete job rows a month past their expiry, queue again the jobs
    a broker outage left queued."""
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(state=ExportState.EXPIRED):
        if job.file_name:
            (export_dir() / job.file_name).unlink(missing_ok=True)
        expired += ExportJob.objects.filter(pk=job.pk).update(state=ExportState.EXPIRED)
    known = set(ExportJob.objects.exclude(file_name="").exclude(state=ExportState.EXPIRED)
                .values_list("file_name", flat=True))
    running = {f"{t}.part" for t in ExportJob.objects.filter(state=ExportState.RUNNING).values_list("token", flat=True)}
    strays = 0
    for path in export_dir().iterdir():
        if path.name not in known and path.name not in running:
            path.unlink(missing_ok=True)
            strays += 1
    deleted, _ = ExportJob.objects.filter(expires_at__lte=now - timedelta(days=30)).delete()
    requeued = 0
    for job_id in ExportJob.objects.filter(state=ExportState.QUEUED, created_at__lte=now - STALE_QUEUED,
                                           expires_at__gt=now).values_list("pk", flat=True):
        _enqueue(job_id)
        requeued += 1
    return {"expired": expired, "strays": strays, "deleted": deleted, "requeued": requeued}
