"""The error answers most operations document, said once (the body is the one error
format of governance.kernel.api.errors). An API whose answer says more for one operation
writes its own OpenApiResponse beside it."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse

BAD_INPUT = OpenApiResponse(description=_("输入有误：按提示修改后重试。"))
FORBIDDEN = OpenApiResponse(description=_("在辖区内，但本岗位不能进行此操作（附原因）。"))
NOT_FOUND = OpenApiResponse(description=_("不存在，或不在您的辖区内。"))
