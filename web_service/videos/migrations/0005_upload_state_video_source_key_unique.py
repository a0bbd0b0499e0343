"""Upload.state (completion is claimed) and a unique Video.source_key (issue 23, hole 7).

Every source key is generated fresh per upload (objectstore.source_key_new),
so only the race this closes, several `complete` calls of one upload at
once, can have given two videos one source. Such videos are not merged or
deleted here: deleting either deletes the source the other plays from. The
check below stops the migration with their ids, so a person decides.
"""

from django.db import migrations, models
from django.db.models import Count


def source_keys_shared_refuse(apps, schema_editor):
    video = apps.get_model("videos", "Video")
    shared = list(
        video.objects.values("source_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("source_key", flat=True)[:20]
    )
    if shared:
        ids = list(video.objects.filter(source_key__in=shared).values_list("id", flat=True))
        raise RuntimeError(
            "Some videos share a source (made by completing one upload several times at"
            f" once): {', '.join(map(str, ids))}. Keep one video per source: delete the"
            " others' rows only (for example in `manage.py shell`, `Video.objects.filter("
            "pk=...).delete()`), never through the site, which would delete the shared"
            " source too. Then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("videos", "0004_upload")]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="state",
            field=models.CharField(
                choices=[("open", "Receiving parts"), ("completing", "Being completed")],
                default="open",
                max_length=16,
            ),
        ),
        migrations.RunPython(source_keys_shared_refuse, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="video",
            name="source_key",
            field=models.CharField(
                help_text="Key of the source in S3_BUCKET.", max_length=1024, unique=True
            ),
        ),
    ]
