"""Reads of uploads in progress (HackSoft styleguide: selectors read, services write)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet, Sum

from ingest.models import Upload


def uploads_open(*, owner: AbstractBaseUser | None = None) -> QuerySet[Upload]:
    """Direct uploads in progress, the owner's or (None) everyone's; each holds its size."""
    uploads = Upload.objects.all()
    return uploads if owner is None else uploads.filter(owner_id=owner.pk)


def uploads_open_bytes(*, owner: AbstractBaseUser | None = None) -> int:
    """The declared sizes of the uploads in progress, the owner's or (None) everyone's."""
    return uploads_open(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
