from django.apps import AppConfig


class RatelimitsConfig(AppConfig):
    """Limits per person and per address: atomic counters for the throttles
    (services.py), the client's address (clients.py), and django-axes'
    login lockout answered with a sentence and Retry-After (lockout.py)."""

    name = "ratelimits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ratelimits import lockout  # noqa: F401  (connects its receiver)
