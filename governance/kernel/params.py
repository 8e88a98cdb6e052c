"""The query string of every page and API endpoint, read through one layer.

Each view declares its parameters as a ``QueryForm`` (a Django form; the API's lists use
django-filter FilterSets, whose forms are built from the same Django fields) and reads
them with ``parse(request.GET)``. The fields carry bounds, so that what a database or
``datetime`` cannot take never reaches them: a NUL byte (PostgreSQL refuses it in text),
a page number past any page (an OFFSET past bigint), a year outside 2000–2100 (a month
before year 1 or after 9999), a number of days past a century. A value outside its
bounds is answered 400 (BadQuery: the pages' error page, the API's JSON, Open311's error
list), naming the parameter and saying what to fix; an empty parameter counts as absent.
"""

from django import forms
from django.core import validators
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.kernel.errors import ApplicationError

MAX_PAGE = 100_000
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_DAYS = 36_500
TEXT_MAX = 100
NUL_MESSAGE = gettext_lazy("不能包含空字符（NUL，%%00）：请删去后重试。")


class BadQuery(ApplicationError):
    """A query parameter out of its bounds: 400, naming each one and what to fix."""

    code = "bad_query"


class QueryText(forms.CharField):
    """Free text (a search): stripped, at most ``max_length``, no NUL."""

    def __init__(self, *, max_length: int = TEXT_MAX, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(max_length=max_length, **kwargs)
        # Django's own NUL validator, with a message that says what to do.
        self.validators = [v for v in self.validators if not isinstance(v, validators.ProhibitNullCharactersValidator)]
        self.validators.insert(0, validators.ProhibitNullCharactersValidator(message=NUL_MESSAGE))


class QueryCode(QueryText):
    """A unit's code: digits only, of one of the given lengths (empty: absent)."""

    def __init__(self, *, lengths: tuple[int, ...], **kwargs):
        super().__init__(max_length=max(lengths), **kwargs)
        self.lengths = lengths
        self.validators.append(self._digits)  # after the NUL check: that message says more

    def _digits(self, value):
        if not (value.isdigit() and len(value) in self.lengths):
            raise forms.ValidationError(
                _("须为 %(n)s 位数字的编码。") % {"n": " / ".join(str(n) for n in self.lengths)}, code="invalid")


def page_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, **kwargs)


def year_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=MIN_YEAR, max_value=MAX_YEAR, **kwargs)


def days_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=0, max_value=MAX_DAYS, **kwargs)


class QueryDate(forms.DateField):
    """A date (YYYY-MM-DD) within MIN_YEAR..MAX_YEAR."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise forms.ValidationError(
                _("日期须在 %(a)s 年至 %(b)s 年之间。") % {"a": MIN_YEAR, "b": MAX_YEAR}, code="invalid")


class QueryForm(forms.Form):
    """The query parameters of one view. ``parse`` returns the cleaned values (absent
    ones as the field's empty value) or raises BadQuery."""

    @classmethod
    def parse(cls, params, **kwargs) -> dict:
        form = cls(params, **kwargs)
        if form.is_valid():
            return form.cleaned_data
        raise bad_query(form)


def bad_query(form: forms.BaseForm) -> BadQuery:
    """The form's errors as one BadQuery: "查询参数有误——参数 page：确保该值小于或等于100000。";
    the API also gets them by parameter (``errors``)."""
    errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
    parts = []
    for name, messages in errors.items():
        message = "".join(messages).rstrip("。")
        parts.append(message if name == "__all__" else _("参数 %(name)s：%(message)s") % {"name": name, "message": message})
    return BadQuery(_("查询参数有误——%(errors)s。") % {"errors": "；".join(parts)}, extra={"errors": errors})


def draft_query(form_class: type[forms.BaseForm], **extra: forms.Field) -> type[QueryForm]:
    """The query form of a page that re-shows a form from its query string (a search
    that reloads the page keeping what was typed): each of ``form_class``'s fields as
    optional text within the field's own length (a yes/no stays one), plus ``extra``.
    Its cleaned values are the re-shown form's ``initial``."""
    fields: dict[str, forms.Field] = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.FileField):
            continue
        if isinstance(field, forms.BooleanField):
            fields[name] = forms.BooleanField(required=False)
        else:
            fields[name] = QueryText(max_length=getattr(field, "max_length", None) or TEXT_MAX)
    fields.update(extra)
    return type(f"{form_class.__name__}Draft", (QueryForm,), fields)
