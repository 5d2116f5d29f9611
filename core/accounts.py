"""User accounts made through our API and pages: buyers, sellers' admins and staff."""

import unicodedata

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.errors import ApplicationError

# A guest buyer is a user row of its own (one per guest checkout) that can never log in; no
# account made otherwise may take a name that looks like one.
GUEST_USERNAME_PREFIX = "guest-"


def username_validate(username: str) -> str:
    """A new account's username, by the one rule of the storefront's form and the API:
    NFKC-normalised, Django's username characters and length, no guest name, and not another
    account's name in other letter case."""
    username = unicodedata.normalize("NFKC", username)
    try:
        get_user_model()._meta.get_field("username").run_validators(username)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), field="username") from None
    if username.casefold().startswith(GUEST_USERNAME_PREFIX):
        raise ApplicationError(
            f"Choose a username that does not start with '{GUEST_USERNAME_PREFIX}'.",
            field="username",
        )
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise _taken()
    return username


def password_validate(*, password: str, username: str, email: str) -> None:
    """Django's password validators, their messages naming the `password` field."""
    try:
        password_validation.validate_password(
            password, get_user_model()(username=username, email=email)
        )
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), field="password") from None


def user_create(*, username: str, email: str, password: str) -> User:
    """The new account, its username checked by `username_validate`; the same name taken by a
    simultaneous request is the database's unique constraint."""
    username = username_validate(username)
    try:
        with transaction.atomic():
            return get_user_model().objects.create_user(
                username=username, email=email, password=password
            )
    except IntegrityError:
        raise _taken() from None


def _taken() -> ApplicationError:
    return ApplicationError("This username is taken.", field="username")
