"""An upload's safety nets: checks before its body is read, and cleanup after.

The site-wide ones (the request metrics, the 503 while the database is
away) are videos/middleware.py."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.views import APIView

from ingest.limits import LENGTH_REQUIRED_MESSAGE, upload_size_refusal
from ingest.services.uploads import upload_quota_refusal
from ingest.streamed_upload import streamed_upload
from ingest.upload_handlers import uploads_discard
from videos.middleware import database_unavailable
from videos.views.rest import upload_rate_refusal

logger = logging.getLogger(__name__)


class UploadCleanupMiddleware:
    """After every request, abort or delete what its upload stored and did not keep.

    Outermost, because the body is parsed (and the file streamed into the
    store) wherever request.POST is first read: often in CsrfViewMiddleware,
    whose 403 never reaches a view. Exceptions below are turned into
    responses before they get here, so this runs however the request ended.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            uploads_discard(request=request)


def _is_upload(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path_info in (
        reverse("videos:home"),
        reverse("videos:api-list"),
    )


def upload_refusal(*, request: HttpRequest, message: str, status: int) -> HttpResponse:
    """The API's `{"error"}`, or a small page for the form's own POST."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    body = render_to_string("videos/refused.html", {"message": message})
    return HttpResponse(body, status=status)


class UploadPrecheckMiddleware:
    """Refuses an upload on its headers alone, before any byte of its body is read.

    Early in MIDDLEWARE: CsrfViewMiddleware and DRF's session check read the
    body (request.POST), so a check in a view would come after the transfer.
    Without Content-Length (a chunked body) the size is unknown until the
    end, so such an upload is refused outright: 411. The request's
    StreamedUpload (streamed_upload.py) is made here, from its headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_upload(request):
            upload = streamed_upload(request)
            if upload.declared_length is None:
                return upload_refusal(request=request, message=LENGTH_REQUIRED_MESSAGE, status=411)
            too_large = upload_size_refusal(size_bytes=upload.declared_file_bytes)
            if too_large:
                return upload_refusal(request=request, message=too_large, status=413)
        return self.get_response(request)


class _SessionUserOnly(SessionAuthentication):
    """SessionAuthentication less its CSRF check, which reads the body (request.POST).

    Only for the gate: the view runs the real SessionAuthentication, with its
    CSRF check, on the same request afterwards.
    """

    def enforce_csrf(self, request: Request) -> None:
        return None


def _api_uploader(
    *, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
) -> AbstractBaseUser | HttpResponse:
    """Who the API view will see, found by its own authenticators and permissions.

    The view's DRF machinery is set up as dispatch() sets it up, so the
    answer (401 and its sentence, WWW-Authenticate) is the one the view gives.
    """
    # as_view() leaves the class and its arguments on the function it returns.
    view = view_func.cls(**view_func.initkwargs)  # type: ignore[attr-defined]
    view.setup(request, *view_args, **view_kwargs)
    view.headers = view.default_response_headers
    view.format_kwarg = None
    drf_request = view.initialize_request(request, *view_args, **view_kwargs)
    drf_request.authenticators = tuple(
        _SessionUserOnly() if isinstance(authenticator, SessionAuthentication) else authenticator
        for authenticator in drf_request.authenticators
    )
    view.request = drf_request
    try:
        view.perform_authentication(drf_request)
        view.check_permissions(drf_request)
    except APIException as exc:
        return view.finalize_response(drf_request, view.handle_exception(exc)).render()
    return drf_request.user


def _upload_gate(
    *, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
) -> HttpResponse | None:
    view_class = getattr(view_func, "cls", None)
    if view_class is not None and issubclass(view_class, APIView):
        uploader = _api_uploader(
            request=request, view_func=view_func, view_args=view_args, view_kwargs=view_kwargs
        )
        if isinstance(uploader, HttpResponse):
            return uploader
    else:  # the page's form: its session, as login_required sees it
        uploader = request.user
        if not uploader.is_authenticated:
            return redirect_to_login(request.get_full_path())
    # One count per person for the form and the API (videos/views/rest.py).
    limited = upload_rate_refusal(request=request, uploader=uploader)
    if limited:
        response = upload_refusal(request=request, message=limited.message, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    upload = streamed_upload(request)
    refusal = upload_quota_refusal(owner=uploader, size_bytes=upload.declared_file_bytes)
    if refusal:
        return upload_refusal(request=request, message=refusal, status=413)
    upload.clear(owner=uploader)
    return None


class UploadGateMiddleware:
    """Decides who is uploading, and whether it fits their quota, before any byte of the body.

    The one place for both, for the page's form and the API, whatever the
    Authorization header says. An anonymous upload gets the login redirect
    (the page) or a 401 (the API); a token, Basic or unknown scheme is judged
    by the API view's own authenticators, so a wrong token is its 401 and a
    session or token user over quota a 413. Nothing is read or stored first.

    A process_view, listed just before CsrfViewMiddleware: CsrfViewMiddleware's
    process_view (and DRF's session CSRF check) read the body, and every
    middleware's request phase (so AuthenticationMiddleware's request.user)
    has run before the first process_view. It marks the request's
    StreamedUpload cleared for the uploader; upload_receive refuses to read a
    body this gate did not clear.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if not _is_upload(request):
            return None
        try:
            return _upload_gate(
                request=request, view_func=view_func, view_args=view_args, view_kwargs=view_kwargs
            )
        except (OperationalError, InterfaceError) as exc:
            # Who is asking cannot be known: refuse before the body, as the view would.
            return database_unavailable(request=request, exception=exc)
