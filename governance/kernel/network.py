"""Who is asking: the client's address, the one rule for rate limits, the login guard
(django-axes' AXES_CLIENT_IP_CALLABLE) and the personal-data access log.

Behind a reverse proxy the socket's address is the proxy's; set TRUSTED_PROXY_HEADER to
the header the proxy writes (``HTTP_X_REAL_IP``, or ``HTTP_X_FORWARDED_FOR``) and
TRUSTED_PROXY_COUNT to the number of proxies in front of the portal. A client can send
its own X-Forwarded-For: each proxy appends the address it saw on the right, so the
client's address is the COUNT-th from the right, never the left-most (which anybody can
write, and which would let one attacker appear as a new address on every request).
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address as the trusted proxy saw it; the socket's without one."""
    if request is None:
        return None
    meta = request.META
    header = getattr(settings, "TRUSTED_PROXY_HEADER", "")
    if header and meta.get(header):
        hops = [hop.strip() for hop in meta[header].split(",") if hop.strip()]
        count = max(1, getattr(settings, "TRUSTED_PROXY_COUNT", 1))
        if hops:
            candidate = hops[-count] if len(hops) >= count else hops[0]
            if _is_address(candidate):
                return candidate
    return meta.get("REMOTE_ADDR") or None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def address_in(address: str | None, networks) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
