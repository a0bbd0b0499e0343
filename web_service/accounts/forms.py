"""The sign-up form: Django's, less the sentence that says a username exists."""

from __future__ import annotations

from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from accounts.selectors import user_username_taken

# Django's own says "A user with that username already exists.", which makes
# the form a free directory of accounts. This sentence tells a person what to
# do without confirming that anyone has the name; the per-address sign-up
# limit (SIGNUP_RATE) bounds how many names anyone can try.
USERNAME_UNAVAILABLE = "This username cannot be used. Choose another one."


class SignupForm(UserCreationForm):
    def clean_username(self) -> str:
        # Replaces UserCreationForm.clean_username, the same check (any case)
        # with our sentence.
        username = self.cleaned_data.get("username")
        if username and user_username_taken(username=username):
            raise ValidationError(USERNAME_UNAVAILABLE, code="unavailable")
        return username
