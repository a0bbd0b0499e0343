from django.urls import path

from ingest.views import direct_uploads
from videos.views import api, health, media, metrics, pages

app_name = "videos"

urlpatterns = [
    path("", pages.home, name="home"),
    path("videos/<uuid:video_id>/", pages.detail, name="detail"),
    path("videos/<uuid:video_id>/delete/", pages.delete, name="delete"),
    path("api/videos/", api.VideoCollectionView.as_view(), name="api-list"),
    path("api/videos/<uuid:video_id>/", api.VideoDetailView.as_view(), name="api-detail"),
    path("api/videos/<uuid:video_id>/cancel/", api.VideoCancelView.as_view(), name="api-cancel"),
    path("api/videos/<uuid:video_id>/retry/", api.VideoRetryView.as_view(), name="api-retry"),
    # Resumable uploads straight to the store (views/direct_uploads.py).
    path("api/uploads/", direct_uploads.UploadStartView.as_view(), name="api-uploads"),
    path(
        "api/uploads/<uuid:upload_id>/",
        direct_uploads.UploadDetailView.as_view(),
        name="api-upload",
    ),
    path(
        "api/uploads/<uuid:upload_id>/parts/",
        direct_uploads.UploadPartsView.as_view(),
        name="api-upload-parts",
    ),
    path(
        "api/uploads/<uuid:upload_id>/parts/<int:number>/",
        direct_uploads.UploadPartSignView.as_view(),
        name="api-upload-part",
    ),
    path(
        "api/uploads/<uuid:upload_id>/complete/",
        direct_uploads.UploadCompleteView.as_view(),
        name="api-upload-complete",
    ),
    path("media/<path:path>", media.media_redirect, name="media"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
