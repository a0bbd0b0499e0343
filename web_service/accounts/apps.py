from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-up, login, logout, password change and API tokens, on django.contrib.auth and
    django-rest-knox; no models of its own."""

    name = "accounts"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects the receivers)
