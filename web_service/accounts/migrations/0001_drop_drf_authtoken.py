"""DRF's authtoken kept every API token in clear, forever (issue 23). Its app is gone
(knox replaced it); this drops its table, so no clear token stays in the database.
Whoever held one logs in again (POST /api/auth/token/) for a knox token."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies: list = []

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop
        ),
    ]
