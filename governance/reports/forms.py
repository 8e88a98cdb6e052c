"""The report pages' and the reports API's query string (governance.kernel.params): one
form, so that a page and its API read the same parameters within the same bounds."""

from django import forms
from django.core.exceptions import ValidationError

from governance.assessment import periods
from governance.kernel.errors import ApplicationError
from governance.kernel.keyset import CURSOR_MAX_LENGTH
from governance.kernel.params import QueryCode, QueryForm, QueryText, days_field, page_field
from governance.reports import supervision as supervision_selectors

EXPORTS = ("csv", "xlsx")


class _ReportQuery(QueryForm):
    period = QueryText(max_length=30)
    level = QueryText(max_length=20)
    parent = QueryText(max_length=19)
    sort = QueryText(max_length=40)
    page = page_field()
    # The 督办 list's page: a keyset cursor (governance.kernel.keyset), checked when it is read.
    cursor = QueryText(max_length=CURSOR_MAX_LENGTH)
    export = forms.ChoiceField(required=False, choices=[("", "")] + [(e, e) for e in EXPORTS])
    table = QueryText(max_length=20)
    unit = QueryText(max_length=19)
    category = QueryCode(lengths=(5,))
    min_days = days_field()
    max_days = days_field()
    district_only = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if not {"period", "from", "to"} & set(self.errors):
            try:
                data["period"] = periods.period_from_params(data)
            except ApplicationError as exc:
                raise ValidationError({"period": exc.message}) from None
        data["page"] = data.get("page") or 1
        data["export"] = data.get("export") or None
        return data


# "from" is a Python keyword: the two dates are added by name.
ReportQuery = type("ReportQuery", (_ReportQuery,), {
    "__doc__": "Every report parameter; ``period`` comes out as a periods.Period (period, or from + to).",
    "__module__": __name__,
    "from": QueryText(max_length=10),
    "to": QueryText(max_length=10),
})


def supervision_filters(params: dict) -> supervision_selectors.SupervisionFilters:
    return supervision_selectors.SupervisionFilters(
        unit=params["unit"], category=params["category"], min_days=params["min_days"], max_days=params["max_days"],
        district_only=params["district_only"],
    )
