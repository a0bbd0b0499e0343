"""GET /metrics: the web's Prometheus metrics, for a scraper on this host or holding the token."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from core.metrics import metrics_exposition

REFUSED = "The metrics are open to this host only, or with the metrics token."


def _scraper_allowed(request: HttpRequest) -> bool:
    # REMOTE_ADDR is the socket's peer, never a header a client wrote: behind
    # nginx (compose) it is nginx, so a scrape through it needs the token.
    try:
        if ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback:
            return True
    except ValueError:
        pass
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _scraper_allowed(request):
        refused = JsonResponse({"error": REFUSED}, status=401)
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)
