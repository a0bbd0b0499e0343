from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # WhiteNoise serves from the app folders until collectstatic fills
        # this (the Docker image does at build time); it only needs to exist.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
