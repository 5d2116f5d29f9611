"""User accounts made through our API and pages: buyers, sellers' admins and staff."""

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from marketplace.errors import ApplicationError


def password_validate(*, password: str, username: str, email: str) -> None:
    """Django's password validators, their messages naming the `password` field."""
    try:
        password_validation.validate_password(
            password, get_user_model()(username=username, email=email)
        )
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), field="password") from None


def user_create(*, username: str, email: str, password: str) -> User:
    """The new account; a taken username is the database's unique constraint, not a check
    that a simultaneous request could pass too."""
    try:
        with transaction.atomic():
            return get_user_model().objects.create_user(
                username=username, email=email, password=password
            )
    except IntegrityError:
        raise ApplicationError("This username is taken.", field="username") from None
