"""The API's token endpoint, /api/auth/token/: a password in, a token out; DELETE revokes it.

Tokens are django-rest-knox's: hashed at rest (SHA-512), expiring after
API_LOGIN_TTL, one per login (so each can be revoked alone), and ended by a
password change (accounts/signals.py). DRF's authtoken did none of these: one
clear, eternal key per user, the same at every login.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import token_create, token_revoke

TOKEN = inline_serializer(
    "ApiToken",
    {
        "token": serializers.CharField(help_text="Send as `Authorization: Token <token>`."),
        "expiry": serializers.DateTimeField(help_text="When the token stops working."),
    },
)


class TokenView(APIView):
    # DRF's serializer only checks username + password with authenticate();
    # it needs nothing of rest_framework.authtoken's models.
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_authenticators(self) -> list:
        # POST trusts the password alone: an old token or a session cookie in
        # the same request is ignored (and a session would need CSRF).
        # DELETE revokes the token it is sent with, so it takes a token only.
        return [TokenAuthentication()] if self._revoking() else []

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated()] if self._revoking() else [AllowAny()]

    def _revoking(self) -> bool:
        # No request while drf-spectacular builds the schema: describe the token.
        return getattr(self.request, "method", "DELETE") == "DELETE"

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TOKEN},
        auth=[],
        operation_id="auth_token_create",
        summary="Trade a username and password for a new API token",
    )
    def post(self, request: Request) -> Response:
        login = AuthTokenSerializer(data=request.data, context={"request": request})
        login.is_valid(raise_exception=True)
        user = login.validated_data["user"]
        instance, token = token_create(user=user)
        # As a login: last_login is updated, and anything listening hears of it.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": token, "expiry": instance.expiry})

    @extend_schema(
        request=None,
        responses={204: None},
        operation_id="auth_token_revoke",
        summary="Revoke the token this request is sent with",
    )
    def delete(self, request: Request) -> Response:
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
