from django.db import migrations


def content_type_move(apps, schema_editor):
    """Keep the upload's content type (and the permissions and admin log that
    name it) by relabelling it, rather than leaving a stale videos one."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="ingest", model="upload").exists():
        ContentType.objects.filter(app_label="videos", model="upload").update(app_label="ingest")


def content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="videos", model="upload").exists():
        ContentType.objects.filter(app_label="ingest", model="upload").update(app_label="videos")


class Migration(migrations.Migration):
    """Upload leaves the videos app for ingest (ingest's 0001), in the state only.

    No table, row or constraint changes: videos_upload stays, now
    ingest.Upload's (its Meta.db_table).
    """

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ingest", "0001_initial"),
        ("videos", "0010_transcodejob_to_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name="Upload",
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_back),
    ]
