from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-up, login and logout on django.contrib.auth; no models of its own."""

    name = "accounts"
