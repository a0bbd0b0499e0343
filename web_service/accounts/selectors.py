"""Reads for accounts (HackSoft styleguide: selectors read)."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def user_username_taken(*, username: str) -> bool:
    """Whether an account has this name, in any case (as Django's sign-up form checks)."""
    return get_user_model().objects.filter(username__iexact=username).exists()
