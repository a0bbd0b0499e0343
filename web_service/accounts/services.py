"""Writes for accounts (HackSoft styleguide: services write)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser


def user_create(*, username: str, password: str) -> AbstractBaseUser:
    """A new, active, non-staff user. The password is hashed by Django."""
    return get_user_model().objects.create_user(username=username, password=password)
