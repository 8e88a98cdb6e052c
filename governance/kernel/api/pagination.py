from functools import cache

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from governance.kernel import keyset
from governance.kernel.errors import NotFound
from governance.kernel.keyset import (
    COUNT_CAP,
    CURSOR_MAX_LENGTH,
    capped_count,
    count_text,
    keyset_page,
    make_cursor,
    ordered,
)
from governance.kernel.params import BadQuery, QueryForm, QueryText, page_field


class StandardPagination(PageNumberPagination):
    """Pages of the API's lists. ``page`` and ``page_size`` are read through a QueryForm
    (governance.kernel.params): a value out of bounds is a 400 saying so, not DRF's
    silent default or a 404; a page past the last one is still 404 (it does not exist)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    class Query(QueryForm):
        page = page_field()
        page_size = forms.IntegerField(required=False, min_value=1, max_value=200)

    def paginate_queryset(self, queryset, request, view=None):
        self._params = self.Query.parse(request.query_params)
        return super().paginate_queryset(queryset, request, view=view)

    def get_page_size(self, request):
        return self._params.get("page_size") or self.page_size

    def get_page_number(self, request, paginator):
        return self._params.get("page") or 1


# For an APIView that pages by hand (drf-spectacular documents pagination only for
# generic list views): its parameters and the page it answers.
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description=gettext_lazy("页码，从 1 开始")),
    OpenApiParameter("page_size", int,
                     description=gettext_lazy("每页条数，最多 %(n)s") % {"n": StandardPagination.max_page_size}),
]


@cache
def paginated(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a StandardPagination page of ``serializer_class`` rows:
    ``{count, next, previous, results: [...]}`` (one class per row class, so that the
    schema names each page component once)."""
    name = serializer_class.__name__.removesuffix("OutputSerializer") + "PageOutputSerializer"
    return type(name, (serializers.Serializer,), {
        "__module__": serializer_class.__module__,
        "count": serializers.IntegerField(help_text=gettext_lazy("总条数")),
        "next": serializers.URLField(allow_null=True, help_text=gettext_lazy("下一页的地址；没有下一页时为 null")),
        "previous": serializers.URLField(allow_null=True, help_text=gettext_lazy("上一页的地址；没有上一页时为 null")),
        "results": serializer_class(many=True),
    })


# --- keyset pages (governance.kernel.keyset) -----------------------------------------------------

MAX_OFFSET_PAGE = 100


class KeysetPagination(BasePagination):
    """Pages of a list that may be millions of rows deep (the appeals): ``cursor`` pages
    by keyset in any of the view's orders (``keyset_sorts``, a dict of
    governance.kernel.keyset.Sort by key; ``keyset_default`` the key used without
    ``ordering``), reading only the rows shown however deep; ``page`` still works for the
    first MAX_OFFSET_PAGE pages, and past them answers 400 asking for a filter or the
    cursor. ``next`` and ``previous`` are always cursor links, so a client following
    them never meets the cap. ``count`` is capped (``count_capped``: more rows than it)."""

    page_size = api_settings.PAGE_SIZE
    max_page_size = 200
    page_cap_message = None  # past MAX_OFFSET_PAGE: naming the list's own filters (default PAGE_CAP_MESSAGE)

    def _query(self, view) -> type[QueryForm]:
        sorts = view.keyset_sorts
        return type("KeysetQuery", (QueryForm,), {
            "page": forms.IntegerField(
                required=False, min_value=1, max_value=MAX_OFFSET_PAGE,
                error_messages={"max_value": self.page_cap_message or PAGE_CAP_MESSAGE}),
            "page_size": forms.IntegerField(required=False, min_value=1, max_value=self.max_page_size),
            "cursor": QueryText(max_length=CURSOR_MAX_LENGTH),
            "ordering": forms.ChoiceField(required=False, choices=[(key, key) for key in sorts]),
        })

    def paginate_queryset(self, queryset, request, view=None):
        params = self._query(view).parse(request.query_params)
        if params["page"] and params["cursor"]:
            raise BadQuery(_("page 与 cursor 只能用其一：沿 next / previous 链接翻页时不要再带 page。"))
        self.request = request
        self.sort = view.keyset_sorts[params["ordering"] or view.keyset_default]
        size = params["page_size"] or self.page_size
        self.count = capped_count(queryset)
        if params["cursor"]:
            page = keyset_page(queryset, sort=self.sort, size=size, cursor=params["cursor"])
            rows, self.next_cursor, self.previous_cursor = page.rows, page.next_cursor, page.previous_cursor
            return rows
        number = params["page"] or 1
        offset = (number - 1) * size
        rows = list(ordered(queryset, self.sort)[offset:offset + size + 1])
        if not rows and number > 1:
            raise NotFound(_("没有第 %(n)s 页：共 %(count)s 条。") % {"n": number, "count": count_text(self.count)})
        more = len(rows) > size
        rows = rows[:size]
        self.next_cursor = make_cursor(self.sort, rows[-1], forward=True) if more else None
        self.previous_cursor = make_cursor(self.sort, rows[0], forward=False) if rows and number > 1 else None
        return rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), "page")
        return replace_query_param(url, "cursor", cursor)

    def get_paginated_response(self, data):
        return Response({
            "count": min(self.count, keyset.COUNT_CAP),
            "count_capped": keyset.is_capped(self.count),
            "next": self._link(self.next_cursor),
            "previous": self._link(self.previous_cursor),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_capped", "results"],
            "properties": {
                "count": {"type": "integer", "description": str(COUNT_DESCRIPTION)},
                "count_capped": {"type": "boolean", "description": str(COUNT_CAPPED_DESCRIPTION)},
                "next": {"type": "string", "format": "uri", "nullable": True, "description": str(NEXT_DESCRIPTION)},
                "previous": {"type": "string", "format": "uri", "nullable": True,
                             "description": str(PREVIOUS_DESCRIPTION)},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        sorts = view.keyset_sorts
        orders = "；".join(f"{key}：{sort.label}" for key, sort in sorts.items())
        return [
            {"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
             "description": str(CURSOR_DESCRIPTION)},
            {"name": "page", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_OFFSET_PAGE},
             "description": str(PAGE_DESCRIPTION)},
            {"name": "page_size", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
             "description": _("每页条数，默认 %(d)s，最多 %(n)s") % {"d": self.page_size, "n": self.max_page_size}},
            {"name": "ordering", "required": False, "in": "query",
             "schema": {"type": "string", "enum": list(sorts), "default": view.keyset_default},
             "description": _("排序（同值按 id 排）：%(orders)s") % {"orders": orders}},
        ]


PAGE_CAP_MESSAGE = gettext_lazy(
    "页码最多为 100。请加筛选条件缩小范围（如 state、street、community、created_from），"
    "或沿返回结果中的 next 链接（cursor 参数）继续向后翻页，翻多深都一样快。")
CURSOR_DESCRIPTION = gettext_lazy(
    "翻页游标：原样使用上一次返回的 next / previous 链接（已签名，改动后答 400）。不能与 page 同用。")
PAGE_DESCRIPTION = gettext_lazy(
    "页码，从 1 开始，最多 100；更深请用 cursor（next 链接）或加筛选条件。")
COUNT_DESCRIPTION = gettext_lazy("符合条件的条数，最多计到 %(cap)s（见 count_capped）") % {"cap": COUNT_CAP}
COUNT_CAPPED_DESCRIPTION = gettext_lazy(
    "true：实际条数多于 %(cap)s，count 只计到 %(cap)s（页面显示“1万+”）；false：count 为准确条数") % {"cap": COUNT_CAP}
NEXT_DESCRIPTION = gettext_lazy("下一页的地址（cursor 链接）；没有下一页时为 null")
PREVIOUS_DESCRIPTION = gettext_lazy("上一页的地址（cursor 链接）；没有上一页时为 null")
