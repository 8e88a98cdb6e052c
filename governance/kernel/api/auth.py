"""Token login for API clients: POST username and password, get a token (it expires,
governance.kernel.api.tokens); and its rotation.

The login goes through django.contrib.auth.authenticate with the request, as the login
page does, so django-axes counts failed attempts here too and refuses a locked-out
account even with the right password.
"""

from django.contrib.auth import authenticate, user_logged_in
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.kernel.api.throttling import AnonRateThrottle
from governance.kernel.api.tokens import token_expires_at, token_for_login, token_rotate
from governance.kernel.login_guard import ACCOUNT, LoginRefusal, refusal_for


class AccountLockedOut(exceptions.APIException):
    """429 with Retry-After (DRF sends ``wait`` as the header): the account from this
    address, or the address itself (governance.kernel.login_guard)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self, refusal: LoginRefusal):
        super().__init__(refusal.message, "locked_out" if refusal.kind == ACCOUNT else "address_throttled")
        self.wait = refusal.seconds


class InvalidCredentials(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_credentials"
    default_detail = _("用户名或密码不正确。")


class TokenLoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150)
    password = serializers.CharField(
        label=_("密码"), max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenLoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("在请求头中发送：Authorization: Token <token>"))
    expires_at = serializers.DateTimeField(help_text=_("令牌过期时间；过期前可轮换，过期后须重新获取"))


def _token_body(token) -> dict:
    return TokenLoginOutputSerializer({"token": token.key, "expires_at": token_expires_at(token)}).data


class TokenLoginAPI(APIView):
    # No session or token is needed to ask for a token; CSRF does not apply either.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        tags=["auth"],
        summary=_("用用户名和密码换取接口令牌"),
        request=TokenLoginInputSerializer,
        responses={
            200: TokenLoginOutputSerializer,
            400: OpenApiResponse(description=_("用户名或密码不正确，或缺少字段。")),
            429: OpenApiResponse(description=_("登录失败次数过多：该账号在此网络已被暂时锁定，或此网络已暂停登录；Retry-After 为需等待的秒数。")),
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenLoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # authenticate() gets DRF's request: axes reads the client from it and flags
        # a lockout on it, which is answered here as JSON rather than by the
        # middleware's HTML lockout page.
        user = authenticate(request=request, **serializer.validated_data)
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise AccountLockedOut(refusal_for(request, serializer.validated_data))
            raise InvalidCredentials()
        # A token login is a login: axes clears the failed attempts and logs the access,
        # and last_login moves, as for the login page.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response(_token_body(token_for_login(user=user)))


class TokenRotateAPI(APIView):
    """A new token for the caller's account; the one used until now stops working."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"], summary=_("轮换接口令牌：签发新令牌，旧令牌立即失效"), request=None,
        responses={200: TokenLoginOutputSerializer, 401: OpenApiResponse(description=_("未登录，或令牌无效、已过期。"))},
    )
    def post(self, request):
        return Response(_token_body(token_rotate(user=request.user)))
