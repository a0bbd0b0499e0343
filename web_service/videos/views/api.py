"""The JSON API, on Django REST framework. Outside tools and the page's JavaScript use it.

Authentication: a token (`Authorization: Token <key>`, from /api/auth/token/)
for scripts, needing no CSRF token; or the page's session, whose writes need
Django's CSRF token (header X-CSRFToken). Settings: REST_FRAMEWORK in
config/settings.py. Every view reads through selectors and writes through
services; another person's video is a 404, never a 403.
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from videos.models import Video
from videos.selectors import video_get, video_list
from videos.services.jobs import JobActionError, job_cancel, job_retry
from videos.services.videos import video_delete
from videos.views.presenters import video_to_dict
from videos.views.rest import PagePagination, UploadRateThrottle
from videos.views.uploading import upload_receive

UPLOAD_REQUEST = inline_serializer(
    "VideoUpload",
    {"file": serializers.FileField(), "title": serializers.CharField(required=False)},
)
UPLOADED = inline_serializer(
    "VideoQueued",
    {
        "id": serializers.UUIDField(),
        "status": serializers.CharField(),
        "url": serializers.CharField(),
    },
)


def _video_owned(request: Request, video_id: uuid.UUID) -> Video:
    video = video_get(owner=request.user, video_id=video_id)
    if video is None:
        raise NotFound("No video with this id.")
    return video


class VideoCollectionView(APIView):
    # Multipart only: Django's parser runs FILE_UPLOAD_HANDLERS, which stream
    # the file into the store (videos/upload_handlers.py); nothing is buffered.
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = PagePagination

    def get_throttles(self):
        return [*super().get_throttles(), UploadRateThrottle()]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        operation_id="videos_list",
        summary="Your videos, newest first",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(video_list(owner=request.user), request, view=self)
        return paginator.get_paginated_response([video_to_dict(video=video) for video in page])

    @extend_schema(
        request=UPLOAD_REQUEST,
        responses={201: UPLOADED},
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
        responses={200: OpenApiTypes.OBJECT},
        operation_id="videos_retrieve",
        summary="One video and its transcode",
    )
    def get(self, request: Request, video_id: uuid.UUID) -> Response:
        return Response(video_to_dict(video=_video_owned(request, video_id)))

    @extend_schema(responses={204: None}, summary="Delete a video, its source and its outputs")
    def delete(self, request: Request, video_id: uuid.UUID) -> Response:
        video_delete(video=_video_owned(request, video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _JobActionView(APIView):
    job_action = staticmethod(job_cancel)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
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
