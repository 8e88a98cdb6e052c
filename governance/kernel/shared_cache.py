"""The shared cache (Redis in production) as the portal's shortcuts use it: a cache that
is down costs a page its shortcut, never the page. Each call logs the failure under
``what`` and answers as if nothing were cached."""

import logging
import uuid

from django.core.cache import cache

logger = logging.getLogger(__name__)


def _unavailable(what: str) -> None:
    logger.warning("%s: the cache is unavailable", what, exc_info=True)


def get(key: str, *, what: str):
    """The cached value, or None (missing, or the cache is down)."""
    try:
        return cache.get(key)
    except Exception:  # the cache is down: compute as without one
        _unavailable(what)
        return None


def get_many(keys: list[str], *, what: str) -> dict:
    """The cached values found among ``keys`` ({} when the cache is down)."""
    try:
        return cache.get_many(keys)
    except Exception:
        _unavailable(what)
        return {}


def put(key: str, value, seconds: int | None, *, what: str) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:
        _unavailable(what)


def claim(key: str, seconds: int, *, what: str) -> bool:
    """Take the lock ``key`` for ``seconds`` if nobody holds it (add-if-absent): True for
    the one caller who took it. False when another holds it, or the cache is down (what
    the lock guards could not be kept in it either)."""
    try:
        return bool(cache.add(key, 1, timeout=seconds))
    except Exception:
        _unavailable(what)
        return False


def token(key: str, *, what: str) -> str | None:
    """The token under ``key``, made if missing (a cleared cache counts as a change);
    None if the cache is down. Whoever changes what the token stands for calls
    ``renew`` after the commit."""
    try:
        found = cache.get(key)
        if found is None:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            found = cache.get(key)
    except Exception:
        _unavailable(what)
        return None
    return found


def renew(key: str) -> None:
    """A new token: everything cached under the old one is stale. Raises if the cache is
    down (callers run it as a robust on_commit hook, which logs the failure)."""
    cache.set(key, uuid.uuid4().hex, timeout=None)
