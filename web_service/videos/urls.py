from django.urls import path

from videos.views import api, health, media, pages

app_name = "videos"

urlpatterns = [
    path("", pages.home, name="home"),
    path("videos/<uuid:video_id>/", pages.detail, name="detail"),
    path("videos/<uuid:video_id>/delete/", pages.delete, name="delete"),
    path("api/videos/", api.VideoCollectionView.as_view(), name="api-list"),
    path("api/videos/<uuid:video_id>/", api.VideoDetailView.as_view(), name="api-detail"),
    path("api/videos/<uuid:video_id>/cancel/", api.VideoCancelView.as_view(), name="api-cancel"),
    path("api/videos/<uuid:video_id>/retry/", api.VideoRetryView.as_view(), name="api-retry"),
    path("media/<path:path>", media.media_redirect, name="media"),
    path("healthz", health.healthz, name="healthz"),
]
