# Every video gets an owner. Videos uploaded before accounts existed go to an
# inactive user "unowned", created only if there are such videos. Why not the
# first superuser: a migration cannot count on one existing (the compose
# `migrate` runs before anyone calls createsuperuser), and handing everyone's
# old videos to one admin would show them on that person's own page. Staff
# still see them in the admin and can give each to its real owner there.

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations, models
import django.db.models.deletion

UNOWNED_USERNAME = "unowned"


def assign_existing_videos(apps, schema_editor):
    Video = apps.get_model("videos", "Video")
    if not Video.objects.filter(owner__isnull=True).exists():
        return
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    owner, _ = User.objects.get_or_create(
        username=UNOWNED_USERNAME,
        # Inactive, with an unusable password: nobody can log in as it.
        defaults={"is_active": False, "password": make_password(None)},
    )
    Video.objects.filter(owner__isnull=True).update(owner=owner)


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("videos", "0002_video_source_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="video",
            name="owner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="videos",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(assign_existing_videos, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="video",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="videos",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
