"""API tokens (DRF's authtoken, one per account): they expire API_TOKEN_DAYS after they
were issued, and their holder can rotate them (a new key, the old one dead at once).

An expired token is refused with 401 (and WWW-Authenticate: Token), like a wrong one;
logging in again issues a fresh one.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(days=settings.API_TOKEN_DAYS)


def token_is_expired(token: Token, *, now: datetime | None = None) -> bool:
    return token_expires_at(token) <= (now or timezone.now())


@transaction.atomic
def token_for_login(*, user) -> Token:
    """The account's token after a good login: the one it has while it lasts, else a new
    one (an expired token is replaced, never revived)."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_is_expired(token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)


@transaction.atomic
def token_rotate(*, user) -> Token:
    """A new token for the account; the old one stops working now."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens past API_TOKEN_DAYS (401)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            raise exceptions.AuthenticationFailed(
                _("令牌已过期：请重新获取（POST /api/v1/auth/token/），或在过期前轮换（POST /api/v1/auth/token/rotate/）。")
            )
        return user, token
