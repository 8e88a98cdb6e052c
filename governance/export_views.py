"""The export jobs' pages (issue 23; governance.kernel.exports): the progress page
("正在生成… x%", polled by htmx), and the download — served to an account whose scope is
the requester's (``Jurisdiction.scope_key``; otherwise the job does not exist: 404), logged
in the access log, and refused with a clear page once the link has expired (410)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET

from governance.enums import AccessAction, ExportState
from governance.kernel import exports
from governance.kernel.access import access_log_record
from governance.models import ExportJob
from governance.staff.selectors import jurisdiction_for

POLL_SECONDS = 2


def _job_for(request, token: str) -> ExportJob:
    """The job, for an account of its scope; outside it the job does not exist."""
    job = ExportJob.objects.filter(token=token).first()
    jurisdiction = jurisdiction_for(request.user)
    if job is None or not jurisdiction.is_staff_member or jurisdiction.scope_key != job.scope:
        raise Http404()
    return job


def _context(job: ExportJob) -> dict:
    expired = exports.is_expired(job)
    _done, total = exports.progress(job)
    return {"job": job, "percent": exports.percent(job), "total": total, "expired": expired,
            "poll_seconds": POLL_SECONDS,
            "hours": settings.EXPORT_FILE_HOURS,
            "working": not expired and job.state in (ExportState.QUEUED, ExportState.RUNNING),
            "done": not expired and job.state == ExportState.DONE}


def _expired_page(request, job: ExportJob):
    return render(request, "exports/job.html", _context(job), status=410)


@login_required
@require_GET
def job_page(request, token: str):
    """The job's page: 410 once its link has expired (the page says so)."""
    job = _job_for(request, token)
    return render(request, "exports/job.html", _context(job), status=410 if exports.is_expired(job) else 200)


@login_required
@require_GET
def job_progress(request, token: str):
    """The progress block alone (htmx polls it until the job is done or failed)."""
    job = _job_for(request, token)
    return render(request, "exports/_progress.html", _context(job))


@login_required
@require_GET
def job_download(request, token: str):
    job = _job_for(request, token)
    if exports.is_expired(job):
        return _expired_page(request, job)
    if job.state != ExportState.DONE:
        return redirect("exports:job", token=job.token)
    try:
        handle = open(exports.file_path(job), "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        return _expired_page(request, job)
    access_log_record(user=request.user, action=AccessAction.EXPORT, subject=f"export:{job.kind}:{job.pk}",
                      record_count=job.done_rows, request=request)
    return FileResponse(handle, as_attachment=True, filename=job.download_name,
                        content_type=exports.CONTENT_TYPES.get(job.fmt, "application/octet-stream"))


urlpatterns = [
    path("<str:token>/", job_page, name="job"),
    path("<str:token>/progress/", job_progress, name="progress"),
    path("<str:token>/download/", job_download, name="download"),
]
