# Contract v2: a video's source is a key in the object store, not a path on
# a shared disk. The values carry over as they are: a v1 path relative to
# MEDIA_ROOT ("sources/<id>") is the key of the same file once the disk is
# copied into the bucket (docs/messages.md, "Upgrading from v1").

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("videos", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(
            model_name="video",
            old_name="source_path",
            new_name="source_key",
        ),
        migrations.AlterField(
            model_name="video",
            name="source_key",
            field=models.CharField(help_text="Key of the source in S3_BUCKET.", max_length=1024),
        ),
    ]
