from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import TokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # POST username + password (form or JSON) -> {"token", "expiry"}; DELETE
    # revokes the token sent with it. docs/api.md, "Tokens".
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file, not inline, and our template
    # its style: it works under the strict Content-Security-Policy, and its
    # assets come from the sidecar.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="videos/api_docs.html"
        ),
        name="api-docs",
    ),
    path("", include("videos.urls")),
]

handler400 = "videos.views.errors.bad_request"
# Under /api/, an unknown path or a malformed id is JSON too.
handler404 = "videos.views.errors.not_found"
