from django.urls import path

from videos.views import api, health, media, pages

app_name = "videos"

urlpatterns = [
    path("", pages.home, name="home"),
    path("videos/<uuid:video_id>/", pages.detail, name="detail"),
    path("api/videos/", api.video_collection, name="api-list"),
    path("api/videos/<uuid:video_id>/", api.video_detail, name="api-detail"),
    path("api/videos/<uuid:video_id>/cancel/", api.video_cancel, name="api-cancel"),
    path("api/videos/<uuid:video_id>/retry/", api.video_retry, name="api-retry"),
    path("media/<path:path>", media.media_redirect, name="media"),
    path("healthz", health.healthz, name="healthz"),
]
