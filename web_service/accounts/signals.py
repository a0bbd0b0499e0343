"""A changed password ends every API token of its account, however it was changed.

A pre_save receiver, not the password-change view alone: the admin,
`manage.py changepassword` and a password reset all save a new hash, and a
token must not outlive any of them. Django ends the other sessions itself
(the session keeps a hash of the password).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts.services import user_tokens_revoke


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def user_password_changed_tokens_revoke(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    # A save that cannot change the password (last_login at each login) costs nothing.
    if (
        raw
        or instance.pk is None
        or (update_fields is not None and "password" not in update_fields)
    ):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True)
    # A new hash of the same password (Django upgrading its hasher at a login)
    # looks the same from here: it ends the tokens too, the safe way to err.
    if stored and stored[0] != instance.password:
        user_tokens_revoke(user=instance)
