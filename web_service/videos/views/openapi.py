"""The API's OpenAPI schema lists every error an operation answers, with its shape.

Every refusal is `{"error": "<sentence>"}` (videos/views/rest.py). The
statuses every view shares are added here, in one place, from what the view
is: a token or session is needed (401), a session write without its CSRF
token (403), an id in the path (404), a body to validate (400), the request
throttle (429, Retry-After) and a database or store away (503, Retry-After).
A view names only its own extra refusals, with `error_responses(409, ...)`.
tests/e2e/test_api_schema.py holds the API to this schema with schemathesis.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers

from videos.views.fields import StrictCharField, StrictIntegerField

ERROR = inline_serializer(
    "Error", {"error": serializers.CharField(help_text="What was refused, and why, as a sentence.")}
)

NO_NUL = "No NUL character."

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}

_WHY = {
    400: "The request is not valid.",
    401: "No valid token or session: log in, or send `Authorization: Token <key>`.",
    403: "A session's write without its CSRF token, or an action not allowed.",
    404: "No such resource of yours (another person's is a 404 too), or no such path.",
    409: "The resource's state does not allow this now.",
    411: "An upload without Content-Length.",
    413: "Over the upload size limit or the storage quota.",
    429: "Too many requests; `Retry-After` says how long to wait.",
    503: "The database or the object store is away for a moment.",
}
_WAIT = {429, 503}


# What an upload's size may be, as the services check it: an empty file is a
# 400, one over UPLOAD_MAX_BYTES a 413 (videos/services, videos/middleware.py).
# Only the schema says it here; the services' own sentences answer.
@extend_schema_field({"type": "integer", "minimum": 1, "maximum": settings.UPLOAD_MAX_BYTES})
class UploadSizeField(StrictIntegerField):
    pass


@extend_schema_field(
    {"type": "string", "format": "binary", "minLength": 1, "maxLength": settings.UPLOAD_MAX_BYTES}
)
class UploadFileField(serializers.FileField):
    pass


# The declared types ingest.content_types lets through; any other is a 400. (A
# blank one is let through too: drf-spectacular adds that, for allow_blank.)
@extend_schema_field(
    {
        "type": "string",
        "maxLength": 255,
        "pattern": "^(video/[^\\x00;]*|application/(octet-stream|mp4|x-matroska))$",
    }
)
class UploadContentTypeField(StrictCharField):
    pass


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers for `statuses`, each `{"error": "<sentence>"}`."""
    return {
        status: OpenApiResponse(response=ERROR, description=_WHY[status]) for status in statuses
    }


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers every operation shares."""

    def _shared_error_statuses(self) -> set[int]:
        statuses = {429, 503}
        auths = self.get_auth()
        if auths and {} not in auths:  # not the token endpoint's POST (auth=[])
            statuses.add(401)
            if self.method != "GET":
                statuses.add(403)
        if "{" in self.path:
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            statuses.add(400)
        return statuses

    def _get_response_bodies(self, direction="response") -> dict:
        # Private in drf-spectacular: an @extend_schema(responses=...) replaces
        # get_response_serializers in a subclass of its own, so this is the
        # one place that sees every operation's answers.
        bodies = super()._get_response_bodies(direction)
        for status, response in error_responses(*sorted(self._shared_error_statuses())).items():
            if str(status) not in bodies:
                bodies[str(status)] = self._get_response_for_code(
                    response, str(status), direction=direction
                )
        return bodies

    def _map_basic_serializer(self, serializer, direction) -> dict:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        # DRF's CharField refuses a NUL character (ProhibitNullCharactersValidator):
        # say so. In words, not as a pattern: schemathesis cannot negate one
        # that only a NUL breaks, and reports the API for its own mistake.
        for name, field in serializer.fields.items():
            prop = schema["properties"].get(field.field_name or name)
            if isinstance(field, serializers.CharField) and prop and prop.get("type") == "string":
                words = prop.get("description", "")
                prop["description"] = f"{words} {NO_NUL}".strip()
        return schema

    def _get_response_headers_for_code(self, status_code, direction="response") -> dict:
        # Private in drf-spectacular, which documents headers only through
        # OpenApiParameter on each view; this is the one place for all of them.
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) in {str(status) for status in _WAIT}:
            headers = {**headers, **_RETRY_AFTER}
        return headers


# A video's `preview` (videos/views/presenters.job_preview), in the detail and
# in each list item: null unless the job is processing and already playable.
PREVIEW_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": (
        "While the job is processing, once the first seconds of every rung are stored:"
        " the in-progress HLS ladder, which grows until the job is ready. Null otherwise."
        " A redelivered job gets a new `hls_url` (another attempt); never mix the two."
    ),
    "required": ["hls_url", "encoded_seconds", "duration"],
    "properties": {
        "hls_url": {
            "type": "string",
            "example": "/media/outputs/<job_id>/9f2c4e1a7b3d5f60/hls/master.m3u8",
            "description": "The master playlist (EVENT playlists, no ENDLIST until ready).",
        },
        "encoded_seconds": {
            "type": "number",
            "minimum": 0,
            "description": "Seconds of video stored in every rung: how far a viewer may seek.",
        },
        "duration": {
            "type": "number",
            "minimum": 0,
            "description": "The source's length in seconds.",
        },
    },
}


def detail_schema_with_preview(*, schema: dict) -> dict:
    """A video's detail schema with its required `preview` field added."""
    return {
        **schema,
        "properties": {**schema.get("properties", {}), "preview": PREVIEW_SCHEMA},
        "required": [*schema.get("required", []), "preview"],
    }
