"""Household import and export pages. Thin: scope the unit (404 outside the
jurisdiction), check the role (403 with the reason), call grids.io, render."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from governance.enums import AccessAction
from governance.kernel import exports
from governance.kernel.access import access_log_record
from governance.staff.selectors import ensure_can_edit_households, jurisdiction_for
from grids import selectors
from grids.forms import ExportQuery, HouseholdImportForm
from grids.io.columns import BLANK_KEEPS_HELP, COLUMNS
from grids.io.exporting import XLSX_CONTENT_TYPE, household_export_count, household_export_xlsx
from grids.io.importing import ImportRejected
from grids.io.importing import household_import as import_service
from grids.views import LEVELS

MAX_ERRORS_SHOWN = 500


def _unit(request, level: str, code: str):
    config = LEVELS.get(level)
    if config is None:
        raise Http404
    jurisdiction = jurisdiction_for(request.user)
    return config, jurisdiction, selectors.unit_get(config.model, jurisdiction, code)


@login_required
@require_http_methods(["GET", "POST"])
def household_import(request, level: str, code: str):
    config, jurisdiction, unit = _unit(request, level, code)
    ensure_can_edit_households(jurisdiction, territory_code=unit.code)
    form = HouseholdImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_service(
                actor=request.user, jurisdiction=jurisdiction, filename=upload.name,
                # One byte over the limit is enough for the importer to refuse the file.
                data=upload.read(settings.IMPORT_MAX_BYTES + 1),
                within=unit.code, dry_run=form.cleaned_data["dry_run"], request=request,
            )
        except ImportRejected as exc:
            errors = exc.errors
            form.add_error(None, exc.message)
        else:
            messages.success(request, result.summary())
            if not result.dry_run:
                return redirect(config.url_name, unit.code)
    return render(request, "grids/import.html", {
        "form": form,
        "unit": unit,
        "level": config,
        "columns": COLUMNS,
        "blank_keeps_help": BLANK_KEEPS_HELP,
        "errors": errors[:MAX_ERRORS_SHOWN],
        "error_count": len(errors),
        "template_url": reverse("household-export", args=[level, unit.code]) + "?template=1",
        "back": reverse(config.url_name, args=[unit.code]),
    })


@login_required
@require_GET
def household_export(request, level: str, code: str):
    """The XLSX of a unit's active households; ``?template=1``: the same file without rows."""
    _config, jurisdiction, unit = _unit(request, level, code)
    template = ExportQuery.parse(request.GET)["template"]
    limit = exports.inline_limit(exports.XLSX)
    if not template and household_export_count(jurisdiction=jurisdiction, within=unit.code, limit=limit + 1) > limit:
        # Too many rows for one request (an XLSX is zipped only when saved): a job writes it.
        name = f"{unit.name}-{unit.code}-{_('住户')}-{timezone.localdate():%Y%m%d}.xlsx"
        job = exports.job_create(user=request.user, scope=jurisdiction.scope_key, kind="households", fmt=exports.XLSX,
                                 params={"level": level, "code": unit.code}, title=f"{unit.name} {_('住户')}",
                                 download_name=name, total=limit + 1)
        return redirect("exports:job", token=job.token)
    # Spooled to disk by openpyxl and here, then streamed: never the whole file in memory.
    out = tempfile.TemporaryFile()
    count = household_export_xlsx(jurisdiction=jurisdiction, within=unit.code, out=out, template=template)
    if template:
        filename = _("住户导入模板.xlsx")
    else:
        access_log_record(user=request.user, action=AccessAction.EXPORT, subject=f"{level}:{unit.code}",
                          record_count=count, request=request)
        filename = f"{unit.name}-{unit.code}-{_('住户')}-{timezone.localdate():%Y%m%d}.xlsx"
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
