from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from jobs.messaging import contract


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        profiles = settings.TRANSCODE_PROFILES
        if not profiles or set(profiles) - set(contract.PROFILES):
            raise ImproperlyConfigured(
                f"TRANSCODE_PROFILES must list profiles the transcoder makes"
                f" ({', '.join(contract.PROFILES)}), got {', '.join(profiles) or 'none'}."
            )
