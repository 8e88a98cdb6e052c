from functools import cache

from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from governance.kernel.params import QueryForm, page_field


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
    OpenApiParameter("page", int, description=_("页码，从 1 开始")),
    OpenApiParameter("page_size", int, description=_("每页条数，最多 %(n)s") % {"n": StandardPagination.max_page_size}),
]


@cache
def paginated(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a StandardPagination page of ``serializer_class`` rows:
    ``{count, next, previous, results: [...]}`` (one class per row class, so that the
    schema names each page component once)."""
    name = serializer_class.__name__.removesuffix("OutputSerializer") + "PageOutputSerializer"
    return type(name, (serializers.Serializer,), {
        "__module__": serializer_class.__module__,
        "count": serializers.IntegerField(help_text=_("总条数")),
        "next": serializers.URLField(allow_null=True, help_text=_("下一页的地址；没有下一页时为 null")),
        "previous": serializers.URLField(allow_null=True, help_text=_("上一页的地址；没有上一页时为 null")),
        "results": serializer_class(many=True),
    })
