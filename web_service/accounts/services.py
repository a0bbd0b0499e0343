"""Writes for accounts (HackSoft styleguide: services write)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from knox.models import AuthToken


def user_create(*, username: str, password: str) -> AbstractBaseUser:
    """A new, active, non-staff user. The password is hashed by Django."""
    return get_user_model().objects.create_user(username=username, password=password)


def token_create(*, user: AbstractBaseUser) -> tuple[AuthToken, str]:
    """A new API token for `user`, and its text, which only this answer ever holds.

    The database keeps a digest of it (knox), with an expiry of API_LOGIN_TTL.
    """
    return AuthToken.objects.create(user=user)


def token_revoke(*, token: AuthToken) -> None:
    """End one token at once: the next call with it is a 401."""
    token.delete()


def user_tokens_revoke(*, user: AbstractBaseUser) -> int:
    """End every API token of `user` (a password change); how many there were."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
