"""The resumable upload API: the page (Uppy) and scripts send parts straight to the store.

Thin views over ingest/services/direct_uploads.py. Authentication, CSRF for
session writes, errors as `{"error": "<sentence>"}` and throttles are the
rest of the API's (videos/views/rest.py). Another person's upload is a 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import objectstore
from ingest.models import Upload
from ingest.services.direct_uploads import (
    PART_URLS_PER_REQUEST,
    DirectUploadRefused,
    direct_upload_abort,
    direct_upload_complete,
    direct_upload_create,
    direct_upload_get,
    direct_upload_part_size,
    direct_upload_part_url,
    direct_upload_part_urls,
    direct_upload_parts_list,
)
from videos.views.fields import StrictCharField, StrictIntegerField
from videos.views.openapi import UploadContentTypeField, UploadSizeField, error_responses
from videos.views.rest import UploadRateThrottle


class UploadStartSerializer(serializers.Serializer):
    # Untrimmed: the schema's minLength 1 is then the whole rule (a name of
    # spaces is only shown, never used as a path).
    filename = StrictCharField(max_length=1024, trim_whitespace=False)
    # 0 and over the limit are refused by direct_upload_create (400, 413).
    size = UploadSizeField(min_value=0)
    content_type = UploadContentTypeField(
        max_length=255, allow_blank=True, required=False, default=""
    )
    title = StrictCharField(max_length=200, allow_blank=True, required=False, default="")


class PartSerializer(serializers.Serializer):
    PartNumber = StrictIntegerField()
    ETag = StrictCharField(max_length=256)


class PartUrlsSerializer(serializers.Serializer):
    first = StrictIntegerField(min_value=1)
    count = StrictIntegerField(
        min_value=1, max_value=PART_URLS_PER_REQUEST, required=False, default=PART_URLS_PER_REQUEST
    )


class UploadCompleteSerializer(serializers.Serializer):
    parts = PartSerializer(many=True, allow_empty=False)


PARTS = inline_serializer(
    "UploadParts",
    {
        "parts": inline_serializer(
            "UploadPart",
            {
                "PartNumber": serializers.IntegerField(),
                "ETag": serializers.CharField(),
                "Size": serializers.IntegerField(),
            },
            many=True,
        )
    },
)
PART_URL = inline_serializer("UploadPartUrl", {"url": serializers.URLField()})
PART_URLS = inline_serializer(
    "UploadPartUrls",
    {
        "parts": inline_serializer(
            "UploadPartUrlNumbered",
            {"PartNumber": serializers.IntegerField(), "url": serializers.URLField()},
            many=True,
        ),
        "expires_in": serializers.IntegerField(help_text="Seconds each URL stays valid."),
    },
)
QUEUED = inline_serializer(
    "UploadQueued",
    {
        "id": serializers.UUIDField(),
        "status": serializers.CharField(),
        "url": serializers.CharField(),
    },
)
UPLOAD_STARTED = inline_serializer(
    "UploadStarted",
    {
        "id": serializers.UUIDField(),
        "key": serializers.CharField(),
        "upload_id": serializers.CharField(),
        "part_size": serializers.IntegerField(),
    },
)


def _refusals_answered(view: Callable[..., Response]) -> Callable[..., Response]:
    """A refusal is the person's `{"error"}` with its status (and `Retry-After` when waiting
    heals it); an unreachable store a 503."""

    @wraps(view)
    def wrapper(*args, **kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except DirectUploadRefused as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return Response({"error": str(exc)}, status=exc.status, headers=headers)
        except objectstore.ObjectStoreUnavailable:
            return Response({"error": objectstore.STORE_UNAVAILABLE_MESSAGE}, status=503)

    return wrapper


def _upload_owned(request: Request, upload_id: uuid.UUID) -> Upload:
    upload = direct_upload_get(owner=request.user, upload_id=upload_id)
    if upload is None:
        raise NotFound("No upload with this id.")
    return upload


class UploadStartView(APIView):
    parser_classes = [JSONParser]

    def get_throttles(self):
        return [*super().get_throttles(), UploadRateThrottle()]

    @extend_schema(
        request=UploadStartSerializer, responses={201: UPLOAD_STARTED, **error_responses(413)}
    )
    @_refusals_answered
    def post(self, request: Request) -> Response:
        data = UploadStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = direct_upload_create(
            owner=request.user,
            filename=data.validated_data["filename"],
            size_bytes=data.validated_data["size"],
            content_type=data.validated_data["content_type"],
            title=data.validated_data["title"],
        )
        return Response(
            {
                "id": str(upload.pk),
                "key": upload.key,
                "upload_id": upload.upload_id,
                "part_size": direct_upload_part_size(size_bytes=upload.size_bytes),
            },
            status=status.HTTP_201_CREATED,
        )


class UploadDetailView(APIView):
    @extend_schema(
        responses={204: None, **error_responses(409)}, summary="Abort an upload and drop its parts"
    )
    @_refusals_answered
    def delete(self, request: Request, upload_id: uuid.UUID) -> Response:
        direct_upload_abort(upload=_upload_owned(request, upload_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadPartsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: PARTS}, summary="The parts the store holds, to resume an upload")
    @_refusals_answered
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        parts = direct_upload_parts_list(upload=_upload_owned(request, upload_id))
        return Response({"parts": parts})

    # Named, because drf-spectacular derives the same id from both parts/ paths.
    @extend_schema(
        operation_id="uploads_parts_sign_batch",
        request=PartUrlsSerializer,
        responses={200: PART_URLS},
        summary="Short-lived URLs to PUT the next parts to, several in one request",
    )
    @_refusals_answered
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _upload_owned(request, upload_id)
        data = PartUrlsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parts = direct_upload_part_urls(upload=upload, **data.validated_data)
        return Response({"parts": parts, "expires_in": settings.S3_PRESIGN_SECONDS})


class UploadPartSignView(APIView):
    @extend_schema(
        operation_id="uploads_part_sign",
        request=None,
        responses={200: PART_URL, **error_responses(400)},
        summary="A short-lived URL to PUT one part to",
    )
    @_refusals_answered
    def post(self, request: Request, upload_id: uuid.UUID, number: int) -> Response:
        upload = _upload_owned(request, upload_id)
        return Response({"url": direct_upload_part_url(upload=upload, number=number)})


class UploadCompleteView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=UploadCompleteSerializer,
        responses={201: QUEUED, **error_responses(409, 413)},
        summary="Assemble the parts into the video",
    )
    @_refusals_answered
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = _upload_owned(request, upload_id)
        data = UploadCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parts = [(p["PartNumber"], p["ETag"]) for p in data.validated_data["parts"]]
        video = direct_upload_complete(upload=upload, parts=parts)
        return Response(
            {"id": str(video.pk), "status": "queued", "url": f"/api/videos/{video.pk}/"},
            status=status.HTTP_201_CREATED,
        )
