"""Who sent a request: the client's address, behind exactly the proxies that exist.

Every limit per address (the API's anonymous throttle, the sign-up limit,
django-axes' login lockout) keys on this one function. X-Forwarded-For is
written by the client unless a proxy we run overwrites or appends to it, so
it is trusted for exactly TRUSTED_PROXIES hops: none under `make run`
(REMOTE_ADDR, the connecting socket), one in compose, whose nginx sets the
header to the address it saw (deploy/nginx/nginx.conf). Trusting more hops
than exist lets anyone pick their own address, and so reset their limits.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_address(request: HttpRequest) -> str:
    """The address the outermost trusted proxy saw, or the socket's peer with none."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    # Each trusted proxy appended the peer it saw, so the client as the
    # outermost one saw it is `proxies` entries from the end. Fewer entries:
    # the request did not come through them all; their peer is all we know.
    if len(hops) < proxies or not _valid(hops[-proxies]):
        return remote
    return hops[-proxies]
