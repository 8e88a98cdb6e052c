"""Strict parsing of settings from the environment.

A bad value stops start-up with a message that names the variable, rather than
running with a guess (a misspelt ``DEBUG=flase`` must not mean anything).
"""

import ipaddress
import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def _env_number(name: str, default, parse, kind: str, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {kind}.") from None
    if maximum is None and minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and ((minimum is not None and value < minimum) or value > maximum):
        raise ImproperlyConfigured(f"{name}={raw!r} must be between {minimum} and {maximum}.")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _env_number(name, default, int, "a whole number", minimum)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_redis_url(name: str) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    parsed = urlparse(raw.strip())
    if parsed.scheme not in {"redis", "rediss"} or not parsed.hostname:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a Redis URL: expected redis://host:port[/db]."
        )
    return raw.strip()


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server with another database number (broker /0, cache /1)."""
    parsed = urlparse(url)
    return parsed._replace(path=f"/{db}").geturl()


def env_networks(name: str) -> tuple:
    """A comma list of IP addresses and CIDR networks (``10.1.0.0/16,203.0.113.7``)."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.1.0.0/16)."
            ) from None
    return tuple(networks)


# Keys that are documentation, not secrets: examples, development defaults and the
# throwaway keys of scripts. A key containing one of these stops start-up (DEBUG off).
SECRET_KEY_PLACEHOLDERS = (
    "changeme", "change-me", "change_me", "replace-me", "replaceme", "your-secret", "yoursecret",
    "secret-key", "secretkey", "not-a-secret", "notasecret", "insecure", "placeholder", "example",
    "development", "collectstatic", "make-test",
)
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 5


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` cannot sign sessions and tokens in production (None: it can)."""
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"it has fewer than {SECRET_KEY_MIN_DISTINCT} distinct characters"
    lowered = key.lower()
    found = next((p for p in SECRET_KEY_PLACEHOLDERS if p in lowered), None)
    if found:
        return f"it contains the placeholder {found!r}"
    return None


def tile_sources(name: str) -> list[str]:
    """The origins (CSP sources) of the map tile URL templates in ``name``:
    ``https://t{s}.tianditu.gov.cn/vec_w/wmts?…`` → ``https://*.tianditu.gov.cn``."""
    sources = []
    for url in env_list(name, []):
        parsed = urlparse(url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ImproperlyConfigured(f"{name}: {url!r} is not an http(s) tile URL template.")
        labels = parsed.netloc.split(".")
        if any("{" in label for label in labels[1:]):
            raise ImproperlyConfigured(
                f"{name}: {url!r}: only the first label of the host may be a placeholder ({{s}}, {{0-7}})."
            )
        if "{" in labels[0]:
            labels[0] = "*"
        source = f"{parsed.scheme}://{'.'.join(labels)}"
        if source not in sources:
            sources.append(source)
    return sources


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum, maximum)
