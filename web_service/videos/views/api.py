"""The JSON API, on Django REST framework. Outside tools and the page's JavaScript use it.

Authentication: a token (`Authorization: Token <key>`, from /api/auth/token/)
for scripts, needing no CSRF token; or the page's session, whose writes need
Django's CSRF token (header X-CSRFToken). Settings: REST_FRAMEWORK in
config/settings.py. Every view reads through selectors and writes through
services; another person's video is a 404, never a 403.
"""

from __future__ import annotations

import re
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ingest.views.uploading import upload_receive
from videos.models import Video
from videos.selectors import video_get, video_list
from videos.services.jobs import JobActionError, job_cancel, job_retry
from videos.services.videos import video_delete
from videos.timelines import job_timeline
from videos.views.openapi import UploadFileField, detail_schema_with_preview, error_responses
from videos.views.presenters import video_to_dict
from videos.views.rest import PagePagination, UploadRateThrottle
from videos.views.timeline import VIDEO_DETAIL_SCHEMA

UPLOAD_REQUEST = inline_serializer(
    "VideoUpload",
    {
        "file": UploadFileField(),
        # As VideoUploadForm's: blank allowed, up to 200 characters.
        "title": serializers.CharField(required=False, allow_blank=True, max_length=200),
    },
)
UPLOADED = inline_serializer(
    "VideoQueued",
    {
        "id": serializers.UUIDField(),
        "status": serializers.CharField(),
        "url": serializers.CharField(),
    },
)


# At most one page of them: the answer is one page of the list.
IDS_MAX = api_settings.PAGE_SIZE
IDS_MESSAGE = f"ids: give 1 to {IDS_MAX} video ids, separated by commas."
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
IDS_PARAMETER = OpenApiParameter(
    "ids",
    type={
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "minItems": 1,
        "maxItems": IDS_MAX,
    },
    style="form",
    explode=False,
    description=(
        "Only these videos (`?ids=<id>,<id>`), for one request that follows many, as the"
        " page does while jobs run. An id that is not one of your videos is left out."
    ),
)


def _ids_asked(request: Request) -> list[uuid.UUID] | None:
    """The ids of `?ids=a,b,c`, or None when the whole list is asked for."""
    text = request.query_params.get("ids")
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) > IDS_MAX or not all(_UUID.fullmatch(part) for part in parts):
        raise ValidationError(IDS_MESSAGE)
    return [uuid.UUID(part) for part in parts]


def _video_owned(request: Request, video_id: uuid.UUID) -> Video:
    video = video_get(owner=request.user, video_id=video_id)
    if video is None:
        raise NotFound("No video with this id.")
    return video


class VideoCollectionView(APIView):
    # Multipart only: Django's parser runs FILE_UPLOAD_HANDLERS, which stream
    # the file into the store (ingest/upload_handlers.py); nothing is buffered.
    # (upload_receive reads Django's request.POST, so the parsers only tell
    # the schema what a file can come in: a form without a file is a 400.)
    parser_classes = [MultiPartParser]
    pagination_class = PagePagination

    def get_throttles(self):
        return [*super().get_throttles(), UploadRateThrottle()]

    @extend_schema(
        parameters=[IDS_PARAMETER],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
        operation_id="videos_list",
        summary="Your videos, newest first",
    )
    def get(self, request: Request) -> Response:
        videos = video_list(owner=request.user, ids=_ids_asked(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(videos, request, view=self)
        return paginator.get_paginated_response([video_to_dict(video=video) for video in page])

    @extend_schema(
        request=UPLOAD_REQUEST,
        responses={201: UPLOADED, **error_responses(411, 413)},
        operation_id="videos_upload",
        summary="Upload a video",
    )
    def post(self, request: Request) -> Response:
        # Django's request: the upload handlers and the cleanup mark that object.
        outcome = upload_receive(request=request._request, owner=request.user)
        if outcome.video is None:
            return Response({"error": outcome.error or "The upload failed."}, outcome.status)
        video_id = outcome.video.id
        return Response(
            {"id": str(video_id), "status": "queued", "url": f"/api/videos/{video_id}/"},
            status=status.HTTP_201_CREATED,
        )


class VideoDetailView(APIView):
    @extend_schema(
        responses={200: detail_schema_with_preview(schema=VIDEO_DETAIL_SCHEMA)},
        operation_id="videos_retrieve",
        summary="One video and its transcode",
    )
    def get(self, request: Request, video_id: uuid.UUID) -> Response:
        video = _video_owned(request, video_id)
        # Only here, not in the list: one video's story, not every row's.
        timeline = [bar.as_dict() for bar in job_timeline(job=video.current_job)]
        return Response({**video_to_dict(video=video), "timeline": timeline})

    @extend_schema(responses={204: None}, summary="Delete a video, its source and its outputs")
    def delete(self, request: Request, video_id: uuid.UUID) -> Response:
        video_delete(video=_video_owned(request, video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _JobActionView(APIView):
    job_action = staticmethod(job_cancel)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, **error_responses(409)})
    def post(self, request: Request, video_id: uuid.UUID) -> Response:
        video = _video_owned(request, video_id)
        try:
            self.job_action(video=video)
        except JobActionError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(video_to_dict(video=_video_owned(request, video_id)))


class VideoCancelView(_JobActionView):
    job_action = staticmethod(job_cancel)


class VideoRetryView(_JobActionView):
    job_action = staticmethod(job_retry)
